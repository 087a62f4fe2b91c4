import { MAX_TAG_ID } from '../directory/user-directory.js';
import { UsherError } from '../errors/usher-error.js';

/** Small numbers for director tags, so the user directory stores 2 bytes instead of a string. "" is 0. */
export class TagIds {
  private readonly ids = new Map<string, number>([['', 0]]);
  private readonly names: string[] = [''];

  idOf(tag: string): number {
    let id = this.ids.get(tag);
    if (id === undefined) {
      id = this.names.length;
      if (id > MAX_TAG_ID) throw new UsherError('TAG_LIMIT', 'too many director tags', { tag });
      this.ids.set(tag, id);
      this.names.push(tag);
    }
    return id;
  }

  /** Without creating: undefined for a tag never seen. */
  find(tag: string): number | undefined {
    return this.ids.get(tag);
  }

  nameOf(id: number): string {
    return this.names[id] ?? '';
  }
}
