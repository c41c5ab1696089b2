// The argument atoms of the scenario format: names, pages, counts, and the timing knobs every op
// takes. The setup sections (schema.ts) and the op rows (ops/*.ts) share them.
import { z } from 'zod';

export const name = z.string().min(1);
export const page = z.number().int().nonnegative();
export const count = z.number().int().positive();

/** Timing knobs any op may carry. */
export const opTiming = {
  /** Preemptible pause after the op (scheduling points while waiting). */
  delayAfterUs: z.number().nonnegative().optional(),
  /** Extra random pause after the op, uniform in [0, jitterUs]. */
  jitterUs: z.number().nonnegative().optional(),
};

/** The arguments of an op that takes nothing but the timing knobs. */
export const noArgs = z.object({ ...opTiming }).strict();
