// Zod field builders shared by the config schemas.

import { z } from 'zod';

export const positiveInt = () => z.number().int().positive();
export const nonNegativeInt = () => z.number().int().nonnegative();
/** A TCP port (1–65535). */
export const port = () => z.number().int().min(1).max(65_535);
