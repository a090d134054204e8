/** Small DOM helpers shared by the app's panels. */
export function element<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

export function byId<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page has no #${id}`);
  return e as T;
}

export function fillSelect(select: HTMLSelectElement, options: readonly (string | [string, string])[], value?: string): void {
  select.replaceChildren(...options.map((o) => {
    const [v, label] = typeof o === 'string' ? [o, o] : o;
    const option = element('option', label);
    option.value = v;
    return option;
  }));
  if (value !== undefined) select.value = value;
}
