import { EventEmitter } from "events";

/** Options of a widget. */
export interface WidgetOptions {
  name: string;
  size?: number;
}

/**
 * Widget renders a labelled box and counts how often it was drawn.
 */
@Component({ selector: "app-widget" })
export class Widget extends EventEmitter {
  private count = 0;

  constructor(private readonly opts: WidgetOptions) {
    super();
  }

  /** render draws the widget into target and emits "render". */
  render(target: HTMLElement): void {
    const box = document.createElement("div");
    box.className = "widget";
    box.style.width = `${this.opts.size ?? 100}px`;
    box.textContent = this.opts.name;
    for (const child of Array.from(target.children)) {
      if (child.classList.contains("widget")) {
        target.removeChild(child);
      }
    }
    target.appendChild(box);
    this.count++;
    this.emit("render", { name: this.opts.name, count: this.count });
  }

  get name(): string {
    return this.opts.name;
  }
}

export const formatSize = (n: number): string => `${n}px`;

export function createWidget(name: string): Widget {
  return new Widget({ name });
}

namespace Registry {
  export function register(w: Widget): void {
    widgets.push(w);
  }
}
