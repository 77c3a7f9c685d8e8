package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// AIModel declares one model of an AI provider in AI_MODELS, e.g.
//
//	AI_MODELS='[{"provider":"ollama","id":"qwen2.5-coder:7b","tier":"fast","fim":true,"context_tokens":32768}]'
//
// Models listed for a provider replace its defaults, so the same variable declares the models
// of a local server and overrides a cloud provider's prices when they change. Omitted numbers
// take defaults (8192 context tokens, 4096 output tokens, free); tier is "fast" or "strong".
type AIModel struct {
	Provider         string  `json:"provider"`
	ID               string  `json:"id"`
	Tier             string  `json:"tier"`
	ContextTokens    int     `json:"context_tokens"`
	MaxOutputTokens  int     `json:"max_output_tokens"`
	InputUSDPerMTok  float64 `json:"input_usd_per_mtok"`
	OutputUSDPerMTok float64 `json:"output_usd_per_mtok"`
	FIM              bool    `json:"fim"`
}

// aiModels parses AI_MODELS strictly: unknown fields, missing provider or id, a bad tier or
// negative numbers are configuration errors named at start-up, not surprises at request time.
func (p *parser) aiModels(name string) []AIModel {
	v := p.str(name, "")
	if v == "" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(v)))
	dec.DisallowUnknownFields()
	var models []AIModel
	if err := dec.Decode(&models); err != nil {
		p.fail(name, fmt.Sprintf("is not a JSON array of models: %v", err))
		return nil
	}
	for i, m := range models {
		switch {
		case m.Provider == "" || m.ID == "":
			p.fail(name, fmt.Sprintf("model %d needs provider and id", i))
		case m.Tier != "" && m.Tier != "fast" && m.Tier != "strong":
			p.fail(name, fmt.Sprintf("model %s: tier must be fast or strong", m.ID))
		case m.ContextTokens < 0 || m.MaxOutputTokens < 0 || m.InputUSDPerMTok < 0 || m.OutputUSDPerMTok < 0:
			p.fail(name, fmt.Sprintf("model %s: numbers must not be negative", m.ID))
		}
		if models[i].Tier == "" {
			models[i].Tier = "fast"
		}
		if models[i].ContextTokens == 0 {
			models[i].ContextTokens = 8192
		}
		if models[i].MaxOutputTokens == 0 {
			models[i].MaxOutputTokens = min(4096, models[i].ContextTokens)
		}
	}
	return models
}

// float parses a decimal number.
func (p *parser) float(name string, def float64) float64 {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		p.fail(name, fmt.Sprintf("is not a number: %q", v))
		return def
	}
	return f
}
