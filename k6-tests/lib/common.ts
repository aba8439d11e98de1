// Shared pieces of the k6 presets: where the server is, and one iteration
// that walks the API the way a client does.
//
// Settings come from `--env NAME=value` (or the process environment):
//   PUBLISHER_URL      server base URL (default http://localhost:4000);
//                      an IPv6 server is written http://[::1]:4000
//   PUBLISHER_PROJECT  project to walk (default home)
//   SLEEP_SECONDS      pause after each view query (default: the preset's)
//   MAX_VIEWS          views per model to run, 0 for all (default 0)

import http from "k6/http";
import { check, sleep } from "k6";

export const BASE_URL = (__ENV.PUBLISHER_URL || "http://localhost:4000").replace(/\/+$/, "");
export const PROJECT = __ENV.PUBLISHER_PROJECT || "home";
const API = `${BASE_URL}/api/v0/projects/${encodeURIComponent(PROJECT)}`;
const MAX_VIEWS = Number(__ENV.MAX_VIEWS || "0");

/** The request tags the thresholds are split by. */
export const OPERATIONS = ["list_packages", "list_models", "get_model", "execute_query"] as const;

/**
 * Builds the thresholds of a preset: the p95 latency in milliseconds and the
 * error rate (0.01 is 1%), for all requests together and for each operation.
 */
export function thresholds(p95Ms: number, errorRate: number): Record<string, string[]> {
  const result: Record<string, string[]> = {
    http_req_duration: [`p(95)<${p95Ms}`],
    http_req_failed: [`rate<${errorRate}`],
    checks: [`rate>${1 - errorRate}`],
  };
  for (const operation of OPERATIONS) {
    result[`http_req_duration{operation:${operation}}`] = [`p(95)<${p95Ms}`];
    result[`http_req_failed{operation:${operation}}`] = [`rate<${errorRate}`];
  }
  return result;
}

function tagged(operation: string, name: string, extra: Record<string, string> = {}) {
  return { tags: { operation, name, ...extra } };
}

function parseJson<T>(body: string | ArrayBuffer | null, fallback: T): T {
  if (typeof body !== "string") {
    return fallback;
  }
  try {
    return JSON.parse(body) as T;
  } catch {
    return fallback;
  }
}

interface NamedItem {
  name: string;
}
interface ModelItem {
  path: string;
}
interface CompiledModel {
  type?: string;
  sources?: { name: string; views?: NamedItem[] }[];
}

/**
 * One client session: list packages, list each package's models, get each
 * model, and run each view of each source, pausing `sleepSeconds` after
 * each view query.
 */
export function walkApi(sleepSeconds: number): void {
  const pause = __ENV.SLEEP_SECONDS !== undefined ? Number(__ENV.SLEEP_SECONDS) : sleepSeconds;

  const packagesResponse = http.get(`${API}/packages`, tagged("list_packages", "GET packages"));
  check(packagesResponse, { "list packages: status 200": (r) => r.status === 200 });
  const packages = parseJson<NamedItem[]>(packagesResponse.body, []);

  for (const pkg of packages) {
    const packageUrl = `${API}/packages/${encodeURIComponent(pkg.name)}`;
    const modelsResponse = http.get(`${packageUrl}/models`, tagged("list_models", "GET models"));
    check(modelsResponse, { "list models: status 200": (r) => r.status === 200 });
    const models = parseJson<ModelItem[]>(modelsResponse.body, []);

    for (const model of models) {
      const modelUrl = `${packageUrl}/models/${encodeURIComponent(model.path)}`;
      const modelResponse = http.get(modelUrl, tagged("get_model", "GET model"));
      check(modelResponse, { "get model: status 200": (r) => r.status === 200 });
      const compiled = parseJson<CompiledModel>(modelResponse.body, {});
      if (compiled.type !== "source") {
        continue;
      }

      for (const source of compiled.sources || []) {
        let views = source.views || [];
        if (MAX_VIEWS > 0) {
          views = views.slice(0, MAX_VIEWS);
        }
        for (const view of views) {
          const queryResponse = http.post(
            `${modelUrl}/query`,
            JSON.stringify({ sourceName: source.name, queryName: view.name }),
            {
              headers: { "Content-Type": "application/json" },
              // The view tag lets `--out json` results be split by view.
              ...tagged("execute_query", "POST query", {
                view: `${pkg.name}/${model.path}#${source.name}.${view.name}`,
              }),
            },
          );
          check(queryResponse, {
            "execute query: status 200": (r) => r.status === 200,
            "execute query: has a result": (r) => typeof parseJson<{ result?: string }>(r.body, {}).result === "string",
          });
          sleep(pause);
        }
      }
    }
  }
}
