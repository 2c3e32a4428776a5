/** `k6/execution`: where the running call is, and `test.abort`. */
import { abortTest, context } from '../vu.js';

const exec = {
  scenario: {
    get name() {
      return context.scenario;
    },
    /** Unique per scenario, from 0, as k6 numbers the iterations it starts. */
    get iterationInTest() {
      return context.iteration;
    },
  },
  vu: {
    get idInTest() {
      return context.vuId;
    },
  },
  test: {
    abort(reason?: string): never {
      return abortTest(reason ?? 'test aborted');
    },
  },
};

export default exec;
