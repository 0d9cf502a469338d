"""serve() in the test process: the repository's app, found from its directory or its FunctionApp."""

from __future__ import annotations

import azure.functions as func
import pytest
import requests

from emulator.functions_host import serve, worker_for
from tests.functions_host.host_process import ROOT, SAMPLE_APP


def test_serve_takes_the_directory_or_the_apps_own_object():
    import function_app

    for app_or_dir in (ROOT, function_app.app, function_app):
        with serve(app_or_dir, function_keys=["k"], master_key="m") as url:
            assert requests.get(f"{url}/api/health", timeout=30).status_code in (200, 503)


def test_another_app_in_the_same_process_is_refused():
    with pytest.raises(TypeError, match=r"not the app of a loaded function_app\.py"):
        serve(func.FunctionApp(), function_keys=["k"], master_key="m").__enter__()
    worker_for(ROOT)
    with pytest.raises(RuntimeError, match="one function app per process"):
        worker_for(SAMPLE_APP)
