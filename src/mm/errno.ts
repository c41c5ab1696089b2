// Printable names of the errors emulated kernel functions return.
import { Errno } from './constants.js';

export function errnoName(rc: number): string {
  for (const [k, v] of Object.entries(Errno)) if (v === rc) return `-${k}`;
  return String(rc);
}
