// Stress preset: 100 virtual users for ten minutes, twice the load preset:
// p95 under 2 s and under 10% errors.
import { thresholds, walkApi } from "./lib/common.ts";

export const options = {
  vus: 100,
  duration: "10m",
  thresholds: thresholds(2000, 0.1),
};

export default function (): void {
  walkApi(0.05);
}
