// Loaded with `--import` into every node robot the Scheduler starts (see
// src/scheduler/entry.ts): registers the module hooks of ./hooks.mjs before the robot's entry runs.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
