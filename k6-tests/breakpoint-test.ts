// Breakpoint preset: 2 minutes at each of 50, 100, 150 and 200 virtual
// users, then a 2-minute ramp down, to find where the server gives way:
// p95 under 3 s and under 15% errors.
import { thresholds, walkApi } from "./lib/common.ts";

export const options = {
  stages: [
    { duration: "2m", target: 50 },
    { duration: "2m", target: 100 },
    { duration: "2m", target: 150 },
    { duration: "2m", target: 200 },
    { duration: "2m", target: 0 },
  ],
  thresholds: thresholds(3000, 0.15),
};

export default function (): void {
  walkApi(0.05);
}
