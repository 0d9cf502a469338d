"""Our FunctionRpc subset: the bytes it writes are the protocol's, and it has what the runtime uses.

Expected encodings are written out by hand from the protocol's field numbers and types
(FunctionRpc.proto, Azure/azure-functions-language-worker-protobuf): tag = field number << 3 |
wire type (0 varint, 2 length-delimited); ``sint64`` is zig-zag encoded.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import azure_functions_runtime
import pytest

from emulator.functions_host.rpc_messages import protos

p = protos()


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (lambda: p.TypedData(string="hi"), "0a026869"),  # string = 1
        (lambda: p.TypedData(json="{}"), "12027b7d"),  # json = 2
        (lambda: p.TypedData(bytes=b"\x00"), "1a0100"),  # bytes = 3
        (lambda: p.TypedData(int=-1), "3001"),  # int = 6, sint64: -1 → 1
        (lambda: p.StatusResult(status=p.StatusResult.Success), "2001"),  # status = 4, Success = 1
        (lambda: p.RpcHttp(status_code="200"), "6203323030"),  # status_code = 12
        (lambda: p.RpcHttp(query={"a": "b"}), "7a060a0161120162"),  # query = 15, map entry key 1 / value 2
        (lambda: p.RpcHttp(headers={"a": "b"}), "1a060a0161120162"),  # headers = 3
        (lambda: p.RpcHttp(params={"a": "b"}), "52060a0161120162"),  # params = 10
        (lambda: p.ParameterBinding(name="r", data=p.TypedData(bytes=b"x")), "0a01721203" + "1a0178"),
        (lambda: p.WorkerInitRequest(function_app_directory="/a"), "2a022f61"),  # = 5
        (lambda: p.InvocationResponse(return_value=p.TypedData(json="1")), "2203120131"),  # return_value = 4
        (
            lambda: p.StreamingMessage(request_id="r", invocation_request=p.InvocationRequest(invocation_id="i")),
            "0a0172" + "2203" + "0a0169",  # request_id = 1, invocation_request = 4
        ),
        (lambda: p.StreamingMessage(worker_init_request=p.WorkerInitRequest()), "8a0100"),  # = 17 (two-byte tag)
        (lambda: p.StreamingMessage(functions_metadata_request=p.FunctionsMetadataRequest()), "ea0100"),  # = 29
        (lambda: p.RpcFunctionMetadata(name="f", function_id="i"), "2201666a0169"),  # name = 4, function_id = 13
        (lambda: p.RpcFunctionMetadata(raw_bindings=["x"]), "520178"),  # raw_bindings = 10
        (lambda: p.BindingInfo(direction=p.BindingInfo.out), "1801"),  # direction = 3, out = 1
        (lambda: p.NullableString(value=""), "0a00"),  # the oneof gives an empty value presence
        (lambda: p.RpcRetryOptions(delay_interval=timedelta(seconds=3)), "1a020803"),  # Duration seconds = 1
    ],
)
def test_wire_encoding(message, expected):
    built = message()
    assert built.SerializeToString().hex() == expected
    assert type(built).FromString(bytes.fromhex(expected)) == built


def test_oneofs_say_which_member_is_set():
    assert p.TypedData(http=p.RpcHttp()).WhichOneof("data") == "http"
    assert p.ParameterBinding(data=p.TypedData()).WhichOneof("rpc_data") == "data"
    assert p.StreamingMessage(invocation_response=p.InvocationResponse()).WhichOneof("content") == "invocation_response"


def test_enum_values_are_the_protocols():
    assert (p.StatusResult.Failure, p.StatusResult.Success, p.StatusResult.Cancelled) == (0, 1, 2)
    assert (p.BindingInfo.out, p.BindingInfo.inout, p.BindingInfo.undefined) == (1, 2, 0)
    cookie = p.RpcHttpCookie.SameSite
    assert (getattr(cookie, "None"), cookie.Lax, cookie.Strict, cookie.ExplicitNone) == (0, 1, 2, 3)
    assert p.RpcRetryOptions.RetryStrategy.Value("fixed_delay") == 1
    assert p.RpcDataType.Value("collection_sint64") == 11


def test_every_message_the_installed_runtime_names_is_provided():
    # Scans azure_functions_runtime's own source for protos.<Name>: a runtime upgrade that starts
    # using another message fails here, not in the middle of an invocation.
    package = Path(azure_functions_runtime.__file__).parent
    used = {m for path in package.rglob("*.py") for m in re.findall(r"\bprotos\.([A-Z]\w+)", path.read_text("utf-8"))}
    assert used, "no protos.<Name> found: has the runtime changed how it receives the messages?"
    assert sorted(name for name in used if not hasattr(p, name)) == []


def test_built_once_per_process_in_a_private_pool():
    assert protos() is p
    from google.protobuf import descriptor_pool

    with pytest.raises(KeyError):
        descriptor_pool.Default().FindMessageTypeByName("AzureFunctionsRpcMessages.TypedData")
