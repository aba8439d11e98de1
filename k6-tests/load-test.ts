// Load preset: 50 virtual users for five minutes, the expected busy-day
// traffic: p95 under 1 s and under 5% errors.
import { thresholds, walkApi } from "./lib/common.ts";

export const options = {
  vus: 50,
  duration: "5m",
  thresholds: thresholds(1000, 0.05),
};

export default function (): void {
  walkApi(0.1);
}
