package httpapi

import (
	"context"
	"net/http"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/importer"
)

// importBatch is how many file changes are handed to the ingestion pipeline at once.
const importBatch = 100

// importArchive unpacks an uploaded .tar.gz or .zip into the workspace's files. Files are
// written one by one, each atomically, and enqueued for indexing in batches; the response
// says what was imported and what was skipped and why. Indexing continues after the
// response (202): GET …/index shows its progress.
func (a *API) importArchive(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	ws := currentWorkspace(ctx)
	limits := importer.DefaultLimits
	limits.MaxFileBytes = a.opts.MaxFileBytes
	if a.opts.MaxImportBytes > 0 {
		limits.MaxArchiveBytes = a.opts.MaxImportBytes
	}
	if r.ContentLength > limits.MaxArchiveBytes {
		return domain.Errorf(domain.ETOOLARGE, "archive is larger than %d bytes", limits.MaxArchiveBytes)
	}
	var pending []domain.FileChange
	flush := func() {
		a.fileChanged(r, pending...)
		pending = pending[:0]
	}
	rep, err := importer.Import(ctx, r.Body, limits, func(ctx context.Context, p string, content []byte) error {
		f := &domain.File{WorkspaceID: ws.ID, Path: p, Size: int64(len(content)), Hash: domain.HashContent(content),
			Language: domain.LanguageOf(p), ModifiedAt: a.now()}
		if _, err := a.store.PutFile(ctx, f, content, domain.PutOptions{}); err != nil {
			return err
		}
		pending = append(pending, domain.FileChange{WorkspaceID: ws.ID, Path: p, Version: f.Version})
		if len(pending) >= importBatch {
			flush()
		}
		return nil
	})
	flush()
	if rep != nil && rep.Imported > 0 {
		a.invalidate(ctx, ws.ID)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, rep)
	return nil
}
