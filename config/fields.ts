// Zod field builders shared by the config schemas.

import { z } from 'zod';

export const positiveInt = () => z.number().int().positive();
export const nonNegativeInt = () => z.number().int().nonnegative();
