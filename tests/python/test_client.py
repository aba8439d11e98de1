"""Runs the PyPI client malloy-publisher-client (0.1.1, April-2025 API)
against our server: projects, about, packages, models, queries by text and
by name, databases and schedules.

Run it with a Python that has the client installed (scripts/test-console.sh
makes a venv). Environment: MALLOY_PUBLISHER_BIN (default
target/debug/malloy-publisher) and MALLOY_COMPILER_WASM (set by
scripts/env.sh).
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request
from pathlib import Path

from malloy_publisher_client import APIError, MalloyAPIClient, QueryParams

REPO_ROOT = Path(__file__).resolve().parents[2]
BINARY = os.environ.get(
    "MALLOY_PUBLISHER_BIN", str(REPO_ROOT / "target" / "debug" / "malloy-publisher")
)

ITEMS_MODEL = """\
# schedule @daily materialize duckdb
source: items is duckdb.table('data/items.csv') extend {
  measure: item_count is count()
  view: by_price is { group_by: price; aggregate: item_count; order_by: price }
}

# schedule "0 6 * * 1" report duckdb
query: top_items is items -> { group_by: name; order_by: name; limit: 2 }
"""

ITEMS_CSV = "id,name,price\n1,apple,3\n2,pear,5\n3,plum,5\n"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = Path(tempfile.mkdtemp(prefix="malloy-python-client-"))
        shop = cls.work / "shop"
        (shop / "data").mkdir(parents=True)
        (shop / "publisher.json").write_text(
            json.dumps({"name": "shop", "description": "A small shop"})
        )
        (shop / "data" / "items.csv").write_text(ITEMS_CSV)
        (shop / "items.malloy").write_text(ITEMS_MODEL)
        (shop / "tour.malloynb").write_text(">>>markdown\n# Tour\n")
        (cls.work / "README.md").write_text("# Our packages\n")

        config = {
            "frozenConfig": True,
            "projects": [
                {
                    "name": "home",
                    "packages": [
                        {"name": "shop", "location": str(shop)},
                        {
                            "name": "ecommerce",
                            "location": str(REPO_ROOT / "malloy-samples" / "ecommerce"),
                        },
                    ],
                }
            ],
        }
        config_path = cls.work / "publisher.config.json"
        config_path.write_text(json.dumps(config))

        port = free_port()
        cls.log_path = cls.work / "server.log"
        cls.log = open(cls.log_path, "w")
        cls.server = subprocess.Popen(
            [BINARY, "--host", "127.0.0.1", "--port", str(port), "--config", str(config_path)],
            cwd=cls.work,
            stdout=cls.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
        )
        cls.base_url = f"http://127.0.0.1:{port}"

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if cls.server.poll() is not None:
                raise RuntimeError(f"the server exited: {cls.log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{cls.base_url}/api/v0/status") as reply:
                    if json.load(reply).get("initialized"):
                        break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            raise RuntimeError(f"the server did not load in 120 s: {cls.log_path.read_text()}")
        cls.client = MalloyAPIClient(cls.base_url, api_key="test-key")

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.server.terminate()
        cls.server.wait(timeout=30)
        cls.log.close()
        shutil.rmtree(cls.work, ignore_errors=True)

    def test_projects_and_about(self):
        projects = self.client.list_projects()
        self.assertEqual([project.name for project in projects], ["home"])
        about = self.client.get_about("home")
        self.assertIsInstance(about.readme, str)

    def test_packages(self):
        packages = {package.name: package for package in self.client.list_packages("home")}
        self.assertEqual(sorted(packages), ["ecommerce", "shop"])
        self.assertEqual(packages["shop"].description, "A small shop")
        package = self.client.get_package("home", "shop")
        self.assertEqual(package.name, "shop")
        self.assertEqual(package.description, "A small shop")

    def test_models(self):
        models = self.client.list_models("home", "ecommerce")
        paths = sorted(model.path for model in models)
        self.assertEqual(paths, ["customers.malloy", "sales.malloy", "shop.malloy"])
        self.assertTrue(all(model.type.value == "source" for model in models))
        model = self.client.get_model("home", "shop", "items.malloy")
        self.assertEqual(model.path, "items.malloy")
        self.assertEqual(model.package_name, "shop")
        self.assertEqual(model.type.value, "source")

    def test_query_text(self):
        result = self.client.execute_query(
            QueryParams(
                project_name="home",
                package_name="shop",
                path="items.malloy",
                query="run: items -> by_price",
            )
        )
        rows = json.loads(result.query_result)["result"]
        self.assertEqual(rows, [{"price": 3, "item_count": 1}, {"price": 5, "item_count": 2}])
        self.assertIsInstance(result.model_def, str)
        self.assertIsInstance(result.data_styles, str)

    def test_query_by_name(self):
        result = self.client.execute_query(
            QueryParams(
                project_name="home",
                package_name="ecommerce",
                path="sales.malloy",
                source_name="sales",
                query_name="by_status",
            )
        )
        rows = json.loads(result.query_result)["result"]
        expected = json.loads(
            (REPO_ROOT / "malloy-samples/ecommerce/expected/sales.sales.by_status.json").read_text()
        )
        self.assertEqual([row["status"] for row in rows], [row["status"] for row in expected])
        self.assertEqual(
            [row["item_count"] for row in rows], [row["item_count"] for row in expected]
        )

    def test_query_error(self):
        with self.assertRaises(APIError) as raised:
            self.client.execute_query(
                QueryParams(
                    project_name="home",
                    package_name="shop",
                    path="items.malloy",
                    query="run: items -> { group_by: nope }",
                )
            )
        self.assertEqual(raised.exception.status_code, 400)

    def test_databases(self):
        databases = self.client.list_databases("home", "shop")
        self.assertEqual([database.path for database in databases], ["data/items.csv"])
        self.assertEqual(databases[0].size, len(ITEMS_CSV))

    def test_schedules(self):
        schedules = self.client.list_schedules("home", "shop")
        found = sorted((s.resource, s.schedule, s.action, s.connection) for s in schedules)
        self.assertEqual(
            found,
            [
                ("items.malloy/items", "@daily", "materialize", "duckdb"),
                ("items.malloy/top_items", "0 6 * * 1", "report", "duckdb"),
            ],
        )
        self.assertEqual(self.client.list_schedules("home", "ecommerce"), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
