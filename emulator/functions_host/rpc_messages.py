"""The Functions language-worker protocol messages the Python worker runtime exchanges with its host.

Azure's Functions host talks to a language worker over gRPC with the messages of
``FunctionRpc.proto`` (github.com/Azure/azure-functions-language-worker-protobuf,
``src/proto/FunctionRpc.proto`` and ``src/proto/shared/NullableTypes.proto``). From Python 3.13 on,
the gRPC side lives in Microsoft's proxy worker and hands each message, together with a module of
the generated message classes (``properties["protos"]``), to ``azure_functions_runtime``. Our local
host calls the runtime in-process the same way, so it needs those message classes without gRPC.

This module declares, in our own words, the subset of messages and fields the runtime reads or
writes — with the protocol's message names, field names, field numbers and enum values (facts of
the wire format, so a message built here serialises exactly as the host's would) — and builds
real protobuf descriptors from it with ``google.protobuf.descriptor_pb2``: no protoc step, nothing
generated on disk. Left out: the gRPC service, messages the runtime never sees (logs, heartbeats,
shared-memory close, warm-up, function-load collections) and ``RpcHttp.identities``
(``ClaimsIdentityRpc.proto``, not read by the runtime). The nullable wrapper types, in the
protocol's default package, live in ``AzureFunctionsRpcMessages`` here; package names never
reach the wire.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from functools import cache

from google.protobuf import descriptor_pb2, descriptor_pool, duration_pb2, message_factory, timestamp_pb2
from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

PACKAGE = "AzureFunctionsRpcMessages"
FILE_NAME = "keyvault_assertion_broker/function_rpc_subset.proto"

_F = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    "string": _F.TYPE_STRING,
    "bytes": _F.TYPE_BYTES,
    "bool": _F.TYPE_BOOL,
    "int32": _F.TYPE_INT32,
    "int64": _F.TYPE_INT64,
    "sint64": _F.TYPE_SINT64,
    "double": _F.TYPE_DOUBLE,
}
_WELL_KNOWN = {"google.protobuf.Duration", "google.protobuf.Timestamp"}


@dataclass(frozen=True)
class Field:
    name: str
    number: int
    type: str  # a scalar, a message or enum of this file ("StatusResult.Status"), or a well-known type
    repeated: bool = False
    oneof: str | None = None


@dataclass(frozen=True)
class Map:
    name: str
    number: int
    key: str
    value: str


@dataclass(frozen=True)
class Message:
    name: str
    fields: tuple[Field | Map, ...]
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)  # values numbered 0, 1, 2, ...


def _f(name: str, number: int, type_: str, *, repeated: bool = False, oneof: str | None = None) -> Field:
    return Field(name, number, type_, repeated, oneof)


# Top-level enums of the protocol.
ENUMS: dict[str, tuple[str, ...]] = {
    "RpcDataType": (
        "unknown", "string", "json", "bytes", "stream", "http", "int", "double",
        "collection_bytes", "collection_string", "collection_double", "collection_sint64",
    ),
}  # fmt: skip

MESSAGES: tuple[Message, ...] = (
    # The envelope: one oneof "content" per message kind; only the kinds the runtime handles.
    Message("StreamingMessage", (
        _f("request_id", 1, "string"),
        _f("invocation_request", 4, "InvocationRequest", oneof="content"),
        _f("invocation_response", 5, "InvocationResponse", oneof="content"),
        _f("function_load_request", 8, "FunctionLoadRequest", oneof="content"),
        _f("function_load_response", 9, "FunctionLoadResponse", oneof="content"),
        _f("worker_init_response", 16, "WorkerInitResponse", oneof="content"),
        _f("worker_init_request", 17, "WorkerInitRequest", oneof="content"),
        _f("function_environment_reload_request", 25, "FunctionEnvironmentReloadRequest", oneof="content"),
        _f("function_environment_reload_response", 26, "FunctionEnvironmentReloadResponse", oneof="content"),
        _f("functions_metadata_request", 29, "FunctionsMetadataRequest", oneof="content"),
        _f("function_metadata_response", 30, "FunctionMetadataResponse", oneof="content"),
    )),
    Message("WorkerInitRequest", (
        _f("host_version", 1, "string"),
        Map("capabilities", 2, "string", "string"),
        _f("worker_directory", 4, "string"),
        _f("function_app_directory", 5, "string"),
    )),
    Message("WorkerInitResponse", (
        _f("worker_version", 1, "string"),
        Map("capabilities", 2, "string", "string"),
        _f("result", 3, "StatusResult"),
        _f("worker_metadata", 4, "WorkerMetadata"),
    )),
    Message("WorkerMetadata", (
        _f("runtime_name", 1, "string"),
        _f("runtime_version", 2, "string"),
        _f("worker_version", 3, "string"),
        _f("worker_bitness", 4, "string"),
        Map("custom_properties", 5, "string", "string"),
    )),
    Message("StatusResult", (
        _f("result", 1, "string"),
        _f("exception", 2, "RpcException"),
        _f("status", 4, "StatusResult.Status"),
    ), enums={"Status": ("Failure", "Success", "Cancelled")}),
    Message("FunctionEnvironmentReloadRequest", (
        Map("environment_variables", 1, "string", "string"),
        _f("function_app_directory", 2, "string"),
    )),
    Message("FunctionEnvironmentReloadResponse", (
        _f("worker_metadata", 1, "WorkerMetadata"),
        Map("capabilities", 2, "string", "string"),
        _f("result", 3, "StatusResult"),
        _f("capabilities_update_strategy", 4, "FunctionEnvironmentReloadResponse.CapabilitiesUpdateStrategy"),
    ), enums={"CapabilitiesUpdateStrategy": ("merge", "replace")}),
    Message("FunctionLoadRequest", (
        _f("function_id", 1, "string"),
        _f("metadata", 2, "RpcFunctionMetadata"),
        _f("managed_dependency_enabled", 3, "bool"),
    )),
    Message("FunctionLoadResponse", (
        _f("function_id", 1, "string"),
        _f("result", 2, "StatusResult"),
        _f("is_dependency_downloaded", 3, "bool"),
    )),
    Message("RpcFunctionMetadata", (
        _f("directory", 1, "string"),
        _f("script_file", 2, "string"),
        _f("entry_point", 3, "string"),
        _f("name", 4, "string"),
        Map("bindings", 6, "string", "BindingInfo"),
        _f("is_proxy", 7, "bool"),
        _f("status", 8, "StatusResult"),
        _f("language", 9, "string"),
        _f("raw_bindings", 10, "string", repeated=True),
        _f("function_id", 13, "string"),
        _f("managed_dependency_enabled", 14, "bool"),
        _f("retry_options", 15, "RpcRetryOptions"),
        Map("properties", 16, "string", "string"),
    )),
    Message("FunctionsMetadataRequest", (_f("function_app_directory", 1, "string"),)),
    Message("FunctionMetadataResponse", (
        _f("function_metadata_results", 1, "RpcFunctionMetadata", repeated=True),
        _f("result", 2, "StatusResult"),
        _f("use_default_metadata_indexing", 3, "bool"),
    )),
    Message("InvocationRequest", (
        _f("invocation_id", 1, "string"),
        _f("function_id", 2, "string"),
        _f("input_data", 3, "ParameterBinding", repeated=True),
        Map("trigger_metadata", 4, "string", "TypedData"),
        _f("trace_context", 5, "RpcTraceContext"),
        _f("retry_context", 6, "RetryContext"),
    )),
    Message("RpcTraceContext", (
        _f("trace_parent", 1, "string"),
        _f("trace_state", 2, "string"),
        Map("attributes", 3, "string", "string"),
    )),
    Message("RetryContext", (
        _f("retry_count", 1, "int32"),
        _f("max_retry_count", 2, "int32"),
        _f("exception", 3, "RpcException"),
    )),
    Message("InvocationResponse", (
        _f("invocation_id", 1, "string"),
        _f("output_data", 2, "ParameterBinding", repeated=True),
        _f("result", 3, "StatusResult"),
        _f("return_value", 4, "TypedData"),
    )),
    Message("TypedData", (
        _f("string", 1, "string", oneof="data"),
        _f("json", 2, "string", oneof="data"),
        _f("bytes", 3, "bytes", oneof="data"),
        _f("stream", 4, "bytes", oneof="data"),
        _f("http", 5, "RpcHttp", oneof="data"),
        _f("int", 6, "sint64", oneof="data"),
        _f("double", 7, "double", oneof="data"),
        _f("collection_bytes", 8, "CollectionBytes", oneof="data"),
        _f("collection_string", 9, "CollectionString", oneof="data"),
        _f("collection_double", 10, "CollectionDouble", oneof="data"),
        _f("collection_sint64", 11, "CollectionSInt64", oneof="data"),
        _f("model_binding_data", 12, "ModelBindingData", oneof="data"),
        _f("collection_model_binding_data", 13, "CollectionModelBindingData", oneof="data"),
    )),
    Message("RpcSharedMemory", (
        _f("name", 1, "string"),
        _f("offset", 2, "int64"),
        _f("count", 3, "int64"),
        _f("type", 4, "RpcDataType"),
    )),
    Message("CollectionString", (_f("string", 1, "string", repeated=True),)),
    Message("CollectionBytes", (_f("bytes", 1, "bytes", repeated=True),)),
    Message("CollectionDouble", (_f("double", 1, "double", repeated=True),)),
    Message("CollectionSInt64", (_f("sint64", 1, "sint64", repeated=True),)),
    Message("ParameterBinding", (
        _f("name", 1, "string"),
        _f("data", 2, "TypedData", oneof="rpc_data"),
        _f("rpc_shared_memory", 3, "RpcSharedMemory", oneof="rpc_data"),
    )),
    Message("BindingInfo", (
        _f("type", 2, "string"),
        _f("direction", 3, "BindingInfo.Direction"),
        _f("data_type", 4, "BindingInfo.DataType"),
        Map("properties", 5, "string", "string"),
    ), enums={"Direction": ("in", "out", "inout"), "DataType": ("undefined", "string", "binary", "stream")}),
    Message("RpcException", (
        _f("stack_trace", 1, "string"),
        _f("message", 2, "string"),
        _f("source", 3, "string"),
        _f("is_user_exception", 4, "bool"),
        _f("type", 5, "string"),
    )),
    Message("RpcHttpCookie", (
        _f("name", 1, "string"),
        _f("value", 2, "string"),
        _f("domain", 3, "NullableString"),
        _f("path", 4, "NullableString"),
        _f("expires", 5, "NullableTimestamp"),
        _f("secure", 6, "NullableBool"),
        _f("http_only", 7, "NullableBool"),
        _f("same_site", 8, "RpcHttpCookie.SameSite"),
        _f("max_age", 9, "NullableDouble"),
    ), enums={"SameSite": ("None", "Lax", "Strict", "ExplicitNone")}),
    Message("RpcHttp", (
        _f("method", 1, "string"),
        _f("url", 2, "string"),
        Map("headers", 3, "string", "string"),
        _f("body", 4, "TypedData"),
        Map("params", 10, "string", "string"),
        _f("status_code", 12, "string"),
        Map("query", 15, "string", "string"),
        _f("enable_content_negotiation", 16, "bool"),
        _f("rawBody", 17, "TypedData"),
        _f("cookies", 19, "RpcHttpCookie", repeated=True),
        Map("nullable_headers", 20, "string", "NullableString"),
        Map("nullable_params", 21, "string", "NullableString"),
        Map("nullable_query", 22, "string", "NullableString"),
    )),
    Message("ModelBindingData", (
        _f("version", 1, "string"),
        _f("source", 2, "string"),
        _f("content_type", 3, "string"),
        _f("content", 4, "bytes"),
    )),
    Message("CollectionModelBindingData", (_f("model_binding_data", 1, "ModelBindingData", repeated=True),)),
    Message("RpcRetryOptions", (
        _f("max_retry_count", 2, "int32"),
        _f("delay_interval", 3, "google.protobuf.Duration"),
        _f("minimum_interval", 4, "google.protobuf.Duration"),
        _f("maximum_interval", 5, "google.protobuf.Duration"),
        _f("retry_strategy", 6, "RpcRetryOptions.RetryStrategy"),
    ), enums={"RetryStrategy": ("exponential_backoff", "fixed_delay")}),
    # NullableTypes.proto: a one-field oneof gives the value presence.
    Message("NullableString", (_f("value", 1, "string", oneof="string"),)),
    Message("NullableDouble", (_f("value", 1, "double", oneof="double"),)),
    Message("NullableBool", (_f("value", 1, "bool", oneof="bool"),)),
    Message("NullableTimestamp", (_f("value", 1, "google.protobuf.Timestamp", oneof="timestamp"),)),
)  # fmt: skip


def _enum_names() -> set[str]:
    names = set(ENUMS)
    for message in MESSAGES:
        names.update(f"{message.name}.{enum}" for enum in message.enums)
    return names


def _set_type(proto: descriptor_pb2.FieldDescriptorProto, type_: str, enums: set[str]) -> None:
    if type_ in _SCALARS:
        proto.type = _SCALARS[type_]
    elif type_ in _WELL_KNOWN:
        proto.type, proto.type_name = _F.TYPE_MESSAGE, f".{type_}"
    else:
        proto.type = _F.TYPE_ENUM if type_ in enums else _F.TYPE_MESSAGE
        proto.type_name = f".{PACKAGE}.{type_}"


def _entry_name(field_name: str) -> str:
    # protoc names a map's synthetic entry message after the field in CamelCase: "trigger_metadata"
    # → "TriggerMetadataEntry".
    return "".join(part[:1].upper() + part[1:] for part in field_name.split("_")) + "Entry"


def _add_enum(target: descriptor_pb2.EnumDescriptorProto, name: str, values: tuple[str, ...]) -> None:
    target.name = name
    for number, value in enumerate(values):
        target.value.add(name=value, number=number)


def file_descriptor_proto() -> descriptor_pb2.FileDescriptorProto:
    """The subset as a ``FileDescriptorProto`` (what protoc would produce from an equivalent .proto)."""
    enums = _enum_names()
    file = descriptor_pb2.FileDescriptorProto(
        name=FILE_NAME,
        package=PACKAGE,
        syntax="proto3",
        dependency=[duration_pb2.DESCRIPTOR.name, timestamp_pb2.DESCRIPTOR.name],
    )
    for name, values in ENUMS.items():
        _add_enum(file.enum_type.add(), name, values)
    for message in MESSAGES:
        proto = file.message_type.add(name=message.name)
        for name, values in message.enums.items():
            _add_enum(proto.enum_type.add(), name, values)
        oneofs: list[str] = []
        for spec in message.fields:
            out = proto.field.add(name=spec.name, number=spec.number)
            if isinstance(spec, Map):
                entry = proto.nested_type.add(name=_entry_name(spec.name))
                entry.options.map_entry = True
                for entry_name, number, type_ in (("key", 1, spec.key), ("value", 2, spec.value)):
                    entry_field = entry.field.add(name=entry_name, number=number, label=_F.LABEL_OPTIONAL)
                    _set_type(entry_field, type_, enums)
                out.label = _F.LABEL_REPEATED
                out.type, out.type_name = _F.TYPE_MESSAGE, f".{PACKAGE}.{message.name}.{entry.name}"
                continue
            out.label = _F.LABEL_REPEATED if spec.repeated else _F.LABEL_OPTIONAL
            _set_type(out, spec.type, enums)
            if spec.oneof is not None:
                if spec.oneof not in oneofs:
                    oneofs.append(spec.oneof)
                    proto.oneof_decl.add(name=spec.oneof)
                out.oneof_index = oneofs.index(spec.oneof)
    return file


@cache
def protos() -> types.ModuleType:
    """A module of the message classes, as the proxy worker passes to the runtime (``protos.TypedData``, ...).

    Built once per process in a private descriptor pool, so it cannot clash with another copy of the
    protocol (e.g. an installed azure-functions-worker) in the default pool.
    """
    pool = descriptor_pool.DescriptorPool()
    for dependency in (duration_pb2, timestamp_pb2):
        pool.AddSerializedFile(dependency.DESCRIPTOR.serialized_pb)
    pool.Add(file_descriptor_proto())
    module = types.ModuleType(PACKAGE, __doc__)
    for message in MESSAGES:
        descriptor = pool.FindMessageTypeByName(f"{PACKAGE}.{message.name}")
        setattr(module, message.name, message_factory.GetMessageClass(descriptor))
    for name in ENUMS:
        setattr(module, name, EnumTypeWrapper(pool.FindEnumTypeByName(f"{PACKAGE}.{name}")))
    return module
