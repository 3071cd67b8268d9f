/**
 * Collects a process's output within a bound, keeping its beginning and its end: a failing
 * robot's first error and its final traceback are both kept, whatever it printed between.
 *
 * @example
 *   const text = new BoundedText(3000, 3000);
 *   child.stderr.on('data', (chunk) => text.append(chunk));
 *   text.toString(); // head + '\n[... 12345 characters left out ...]\n' + tail
 */
export class BoundedText {
  #head = '';
  #tail = '';
  #omitted = 0;

  constructor(
    readonly headLimit: number,
    readonly tailLimit: number,
  ) {}

  append(chunk: string): void {
    if (this.#head.length < this.headLimit) {
      const room = this.headLimit - this.#head.length;
      this.#head += chunk.slice(0, room);
      chunk = chunk.slice(room);
      if (!chunk) return;
    }
    const tail = this.#tail + chunk;
    if (tail.length > this.tailLimit) {
      this.#omitted += tail.length - this.tailLimit;
      this.#tail = tail.slice(tail.length - this.tailLimit);
    } else {
      this.#tail = tail;
    }
  }

  get omitted(): number {
    return this.#omitted;
  }

  toString(): string {
    if (this.#omitted === 0) return this.#head + this.#tail;
    return `${this.#head}\n[... ${this.#omitted} characters left out ...]\n${this.#tail}`;
  }
}
