// Smoke preset: one virtual user for one minute. Checks that the API works
// at all: p95 under 500 ms and under 1% errors.
// Shorten with `k6 run --duration 10s k6-tests/smoke-test.ts`.
import { thresholds, walkApi } from "./lib/common.ts";

export const options = {
  vus: 1,
  duration: "1m",
  thresholds: thresholds(500, 0.01),
};

export default function (): void {
  walkApi(1);
}
