// Soak preset: 10 virtual users for an hour, to surface leaks and slow
// degradation: p95 under 1 s and under 1% errors.
import { thresholds, walkApi } from "./lib/common.ts";

export const options = {
  vus: 10,
  duration: "1h",
  thresholds: thresholds(1000, 0.01),
};

export default function (): void {
  walkApi(1);
}
