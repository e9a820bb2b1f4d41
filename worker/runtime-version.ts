// The onnxruntime this process loads models with, as reasons and reports name it.

import { env } from 'onnxruntime-node';

export const RUNTIME_VERSION: string = env.versions.common;
