import { z } from 'zod';

/** Senders write absent and null interchangeably; both mean "not given". */
export const optionalString = z.string().nullish();
export const TimestampInputSchema = z.union([z.string().min(1), z.number()]);
export const FreeObjectSchema = z.record(z.string(), z.unknown());
