// CRUD preset: each iteration adds a package and a connection, reads them,
// changes them and deletes them again, through the 2026 `/environments`
// routes. Thresholds: p95 under 1.5 s and under 2% errors.
//
// Settings (besides PUBLISHER_URL and PUBLISHER_PROJECT from lib/common.ts):
//   CRUD_PACKAGE_LOCATION  a package folder or .zip inside the server's
//                          SERVER_ROOT or config folder, absolute or relative
//                          to the config folder (required)
//   VUS                    virtual users (default 4)
//
//   k6 run --duration 10s --env CRUD_PACKAGE_LOCATION=malloy-samples/ecommerce k6-tests/crud-test.ts
import http from "k6/http";
import { check, fail } from "k6";
import { BASE_URL, PROJECT } from "./lib/common.ts";

const API = `${BASE_URL}/api/v0/environments/${encodeURIComponent(PROJECT)}`;
const LOCATION = __ENV.CRUD_PACKAGE_LOCATION || "";

/** The request tags the thresholds are split by. */
const OPERATIONS = ["package_write", "package_read", "connection_write", "connection_read"];

function crudThresholds(): Record<string, string[]> {
  const result: Record<string, string[]> = {
    http_req_duration: ["p(95)<1500"],
    http_req_failed: ["rate<0.02"],
    checks: ["rate>0.98"],
  };
  for (const operation of OPERATIONS) {
    result[`http_req_duration{operation:${operation}}`] = ["p(95)<1500"];
  }
  return result;
}

export const options = {
  vus: Number(__ENV.VUS || "4"),
  duration: "30s",
  thresholds: crudThresholds(),
};

const JSON_HEADERS = { "Content-Type": "application/json" };

function params(operation: string, name: string) {
  return { headers: JSON_HEADERS, tags: { operation, name } };
}

function ok(response: http.RefinedResponse<http.ResponseType | undefined>, what: string): boolean {
  return check(response, { [`${what}: status 200`]: (r) => r.status === 200 });
}

export function setup(): void {
  if (LOCATION === "") {
    fail("set --env CRUD_PACKAGE_LOCATION to a package folder or .zip on the server");
  }
  const status = http.get(`${BASE_URL}/api/v0/status`);
  if (status.status !== 200 || (status.json("frozenConfig") as boolean) === true) {
    fail(`the server at ${BASE_URL} is not reachable or its config is frozen`);
  }
}

export default function (): void {
  const name = `k6-${__VU}-${__ITER}`;

  const packageUrl = `${API}/packages/${name}`;
  const created = http.post(
    `${API}/packages`,
    JSON.stringify({ name, location: LOCATION, description: "Added by k6" }),
    params("package_write", "POST package"),
  );
  if (ok(created, "add package")) {
    ok(http.get(packageUrl, params("package_read", "GET package")), "get package");
    ok(http.get(`${packageUrl}/models`, params("package_read", "GET models")), "list models");
    ok(
      http.patch(packageUrl, JSON.stringify({ description: "Changed by k6" }), params("package_write", "PATCH package")),
      "update package",
    );
    ok(http.del(packageUrl, null, params("package_write", "DELETE package")), "delete package");
  }

  const connectionUrl = `${API}/connections/${name}`;
  const connection = { name, type: "duckdb", duckdbConnection: {} };
  const added = http.post(connectionUrl, JSON.stringify(connection), params("connection_write", "POST connection"));
  if (ok(added, "add connection")) {
    ok(http.get(connectionUrl, params("connection_read", "GET connection")), "get connection");
    const query = http.post(
      `${connectionUrl}/sqlQuery`,
      JSON.stringify({ sqlStatement: "SELECT 1 AS one" }),
      params("connection_read", "POST sqlQuery"),
    );
    ok(query, "run SQL");
    ok(
      http.patch(connectionUrl, JSON.stringify(connection), params("connection_write", "PATCH connection")),
      "update connection",
    );
    ok(http.del(connectionUrl, null, params("connection_write", "DELETE connection")), "delete connection");
  }
}
