// Spike preset: ramp to 100 virtual users over 2 minutes, hold for 1 minute,
// ramp down over 2 minutes: p95 under 2 s and under 10% errors.
// Shorten with `--stage 20s:100,10s:100,20s:0`.
import { thresholds, walkApi } from "./lib/common.ts";

export const options = {
  stages: [
    { duration: "2m", target: 100 },
    { duration: "1m", target: 100 },
    { duration: "2m", target: 0 },
  ],
  thresholds: thresholds(2000, 0.1),
};

export default function (): void {
  walkApi(0.1);
}
