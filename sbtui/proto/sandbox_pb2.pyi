from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EngineState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENGINE_STATE_UNSPECIFIED: _ClassVar[EngineState]
    ENGINE_STATE_OK: _ClassVar[EngineState]
    ENGINE_STATE_RESTARTING: _ClassVar[EngineState]
    ENGINE_STATE_DOWN: _ClassVar[EngineState]

class SandboxState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SANDBOX_STATE_UNSPECIFIED: _ClassVar[SandboxState]
    SANDBOX_STATE_CREATING: _ClassVar[SandboxState]
    SANDBOX_STATE_RUNNING: _ClassVar[SandboxState]
    SANDBOX_STATE_TERMINATING: _ClassVar[SandboxState]
    SANDBOX_STATE_FINISHED: _ClassVar[SandboxState]

class TerminationReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TERMINATION_REASON_UNSPECIFIED: _ClassVar[TerminationReason]
    TERMINATION_REASON_EXITED: _ClassVar[TerminationReason]
    TERMINATION_REASON_TERMINATED: _ClassVar[TerminationReason]
    TERMINATION_REASON_TIMEOUT: _ClassVar[TerminationReason]
    TERMINATION_REASON_IDLE_TIMEOUT: _ClassVar[TerminationReason]
    TERMINATION_REASON_OUT_OF_MEMORY: _ClassVar[TerminationReason]
    TERMINATION_REASON_LOST: _ClassVar[TerminationReason]
    TERMINATION_REASON_FAILED_TO_START: _ClassVar[TerminationReason]
    TERMINATION_REASON_DISK_LIMIT: _ClassVar[TerminationReason]
    TERMINATION_REASON_ENGINE_STOPPED: _ClassVar[TerminationReason]
    TERMINATION_REASON_NODE_LOST: _ClassVar[TerminationReason]

class StdioBehavior(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STDIO_PIPE: _ClassVar[StdioBehavior]
    STDIO_IGNORE: _ClassVar[StdioBehavior]
ENGINE_STATE_UNSPECIFIED: EngineState
ENGINE_STATE_OK: EngineState
ENGINE_STATE_RESTARTING: EngineState
ENGINE_STATE_DOWN: EngineState
SANDBOX_STATE_UNSPECIFIED: SandboxState
SANDBOX_STATE_CREATING: SandboxState
SANDBOX_STATE_RUNNING: SandboxState
SANDBOX_STATE_TERMINATING: SandboxState
SANDBOX_STATE_FINISHED: SandboxState
TERMINATION_REASON_UNSPECIFIED: TerminationReason
TERMINATION_REASON_EXITED: TerminationReason
TERMINATION_REASON_TERMINATED: TerminationReason
TERMINATION_REASON_TIMEOUT: TerminationReason
TERMINATION_REASON_IDLE_TIMEOUT: TerminationReason
TERMINATION_REASON_OUT_OF_MEMORY: TerminationReason
TERMINATION_REASON_LOST: TerminationReason
TERMINATION_REASON_FAILED_TO_START: TerminationReason
TERMINATION_REASON_DISK_LIMIT: TerminationReason
TERMINATION_REASON_ENGINE_STOPPED: TerminationReason
TERMINATION_REASON_NODE_LOST: TerminationReason
STDIO_PIPE: StdioBehavior
STDIO_IGNORE: StdioBehavior

class ServerInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ServerInfo(_message.Message):
    __slots__ = ("version", "engine", "engine_version", "pid", "state_dir", "environment", "engine_status")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ENGINE_FIELD_NUMBER: _ClassVar[int]
    ENGINE_VERSION_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    STATE_DIR_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    ENGINE_STATUS_FIELD_NUMBER: _ClassVar[int]
    version: str
    engine: str
    engine_version: str
    pid: int
    state_dir: str
    environment: str
    engine_status: EngineStatus
    def __init__(self, version: _Optional[str] = ..., engine: _Optional[str] = ..., engine_version: _Optional[str] = ..., pid: _Optional[int] = ..., state_dir: _Optional[str] = ..., environment: _Optional[str] = ..., engine_status: _Optional[_Union[EngineStatus, _Mapping]] = ...) -> None: ...

class CapabilitiesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Capabilities(_message.Message):
    __slots__ = ("unsupported_create_fields",)
    class UnsupportedCreateFieldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    UNSUPPORTED_CREATE_FIELDS_FIELD_NUMBER: _ClassVar[int]
    unsupported_create_fields: _containers.ScalarMap[str, str]
    def __init__(self, unsupported_create_fields: _Optional[_Mapping[str, str]] = ...) -> None: ...

class EngineStatus(_message.Message):
    __slots__ = ("state", "attempt", "last_error", "since", "restarts", "service_pid")
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    RESTARTS_FIELD_NUMBER: _ClassVar[int]
    SERVICE_PID_FIELD_NUMBER: _ClassVar[int]
    state: EngineState
    attempt: int
    last_error: str
    since: float
    restarts: int
    service_pid: int
    def __init__(self, state: _Optional[_Union[EngineState, str]] = ..., attempt: _Optional[int] = ..., last_error: _Optional[str] = ..., since: _Optional[float] = ..., restarts: _Optional[int] = ..., service_pid: _Optional[int] = ...) -> None: ...

class App(_message.Message):
    __slots__ = ("app_id", "name", "environment", "created_at")
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    name: str
    environment: str
    created_at: float
    def __init__(self, app_id: _Optional[str] = ..., name: _Optional[str] = ..., environment: _Optional[str] = ..., created_at: _Optional[float] = ...) -> None: ...

class AppFromNameRequest(_message.Message):
    __slots__ = ("name", "environment", "create_if_missing")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    CREATE_IF_MISSING_FIELD_NUMBER: _ClassVar[int]
    name: str
    environment: str
    create_if_missing: bool
    def __init__(self, name: _Optional[str] = ..., environment: _Optional[str] = ..., create_if_missing: _Optional[bool] = ...) -> None: ...

class AppListRequest(_message.Message):
    __slots__ = ("environment",)
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    environment: str
    def __init__(self, environment: _Optional[str] = ...) -> None: ...

class AppListResponse(_message.Message):
    __slots__ = ("apps",)
    APPS_FIELD_NUMBER: _ClassVar[int]
    apps: _containers.RepeatedCompositeFieldContainer[App]
    def __init__(self, apps: _Optional[_Iterable[_Union[App, _Mapping]]] = ...) -> None: ...

class Image(_message.Message):
    __slots__ = ("image_id", "tag", "created_at", "size_bytes", "source_sandbox_id")
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SANDBOX_ID_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    tag: str
    created_at: float
    size_bytes: int
    source_sandbox_id: str
    def __init__(self, image_id: _Optional[str] = ..., tag: _Optional[str] = ..., created_at: _Optional[float] = ..., size_bytes: _Optional[int] = ..., source_sandbox_id: _Optional[str] = ...) -> None: ...

class ImageFromRegistryRequest(_message.Message):
    __slots__ = ("tag",)
    TAG_FIELD_NUMBER: _ClassVar[int]
    tag: str
    def __init__(self, tag: _Optional[str] = ...) -> None: ...

class ImageFromIdRequest(_message.Message):
    __slots__ = ("image_id",)
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    image_id: str
    def __init__(self, image_id: _Optional[str] = ...) -> None: ...

class ImagePullEvent(_message.Message):
    __slots__ = ("status", "layer", "current", "total", "image")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LAYER_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    status: str
    layer: str
    current: int
    total: int
    image: Image
    def __init__(self, status: _Optional[str] = ..., layer: _Optional[str] = ..., current: _Optional[int] = ..., total: _Optional[int] = ..., image: _Optional[_Union[Image, _Mapping]] = ...) -> None: ...

class ImageListRequest(_message.Message):
    __slots__ = ("snapshots_only",)
    SNAPSHOTS_ONLY_FIELD_NUMBER: _ClassVar[int]
    snapshots_only: bool
    def __init__(self, snapshots_only: _Optional[bool] = ...) -> None: ...

class ImageListResponse(_message.Message):
    __slots__ = ("images",)
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    images: _containers.RepeatedCompositeFieldContainer[Image]
    def __init__(self, images: _Optional[_Iterable[_Union[Image, _Mapping]]] = ...) -> None: ...

class Secret(_message.Message):
    __slots__ = ("secret_id", "name", "environment", "keys", "created_at")
    SECRET_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    secret_id: str
    name: str
    environment: str
    keys: _containers.RepeatedScalarFieldContainer[str]
    created_at: float
    def __init__(self, secret_id: _Optional[str] = ..., name: _Optional[str] = ..., environment: _Optional[str] = ..., keys: _Optional[_Iterable[str]] = ..., created_at: _Optional[float] = ...) -> None: ...

class SecretCreateRequest(_message.Message):
    __slots__ = ("name", "environment", "values", "overwrite")
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    OVERWRITE_FIELD_NUMBER: _ClassVar[int]
    name: str
    environment: str
    values: _containers.ScalarMap[str, str]
    overwrite: bool
    def __init__(self, name: _Optional[str] = ..., environment: _Optional[str] = ..., values: _Optional[_Mapping[str, str]] = ..., overwrite: _Optional[bool] = ...) -> None: ...

class SecretFromNameRequest(_message.Message):
    __slots__ = ("name", "environment")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    name: str
    environment: str
    def __init__(self, name: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class SecretListRequest(_message.Message):
    __slots__ = ("environment",)
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    environment: str
    def __init__(self, environment: _Optional[str] = ...) -> None: ...

class SecretListResponse(_message.Message):
    __slots__ = ("secrets",)
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    secrets: _containers.RepeatedCompositeFieldContainer[Secret]
    def __init__(self, secrets: _Optional[_Iterable[_Union[Secret, _Mapping]]] = ...) -> None: ...

class SecretDeleteRequest(_message.Message):
    __slots__ = ("name", "environment")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    name: str
    environment: str
    def __init__(self, name: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class SecretDeleteResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Volume(_message.Message):
    __slots__ = ("volume_id", "name", "environment", "created_at", "node")
    VOLUME_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    volume_id: str
    name: str
    environment: str
    created_at: float
    node: str
    def __init__(self, volume_id: _Optional[str] = ..., name: _Optional[str] = ..., environment: _Optional[str] = ..., created_at: _Optional[float] = ..., node: _Optional[str] = ...) -> None: ...

class VolumeFromNameRequest(_message.Message):
    __slots__ = ("name", "environment", "create_if_missing")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    CREATE_IF_MISSING_FIELD_NUMBER: _ClassVar[int]
    name: str
    environment: str
    create_if_missing: bool
    def __init__(self, name: _Optional[str] = ..., environment: _Optional[str] = ..., create_if_missing: _Optional[bool] = ...) -> None: ...

class VolumeListRequest(_message.Message):
    __slots__ = ("environment",)
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    environment: str
    def __init__(self, environment: _Optional[str] = ...) -> None: ...

class VolumeListResponse(_message.Message):
    __slots__ = ("volumes",)
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    volumes: _containers.RepeatedCompositeFieldContainer[Volume]
    def __init__(self, volumes: _Optional[_Iterable[_Union[Volume, _Mapping]]] = ...) -> None: ...

class VolumeDeleteRequest(_message.Message):
    __slots__ = ("name", "environment")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    name: str
    environment: str
    def __init__(self, name: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class VolumeDeleteResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CaCertificateRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CaCertificate(_message.Message):
    __slots__ = ("pem",)
    PEM_FIELD_NUMBER: _ClassVar[int]
    pem: str
    def __init__(self, pem: _Optional[str] = ...) -> None: ...

class SandboxCreateParams(_message.Message):
    __slots__ = ("cpu", "cpu_limit", "memory_mib", "memory_limit_mib", "gpu", "timeout", "idle_timeout", "workdir", "command", "env", "secret_ids", "volumes", "cloud_bucket_mounts", "pty", "encrypted_ports", "h2_ports", "unencrypted_ports", "block_network", "cidr_allowlist", "cloud", "regions", "verbose", "proxy_id", "name", "custom_domain")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class VolumesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class CloudBucketMountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: CloudBucketMount
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[CloudBucketMount, _Mapping]] = ...) -> None: ...
    CPU_FIELD_NUMBER: _ClassVar[int]
    CPU_LIMIT_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MIB_FIELD_NUMBER: _ClassVar[int]
    MEMORY_LIMIT_MIB_FIELD_NUMBER: _ClassVar[int]
    GPU_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    IDLE_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    WORKDIR_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    SECRET_IDS_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    CLOUD_BUCKET_MOUNTS_FIELD_NUMBER: _ClassVar[int]
    PTY_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTED_PORTS_FIELD_NUMBER: _ClassVar[int]
    H2_PORTS_FIELD_NUMBER: _ClassVar[int]
    UNENCRYPTED_PORTS_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NETWORK_FIELD_NUMBER: _ClassVar[int]
    CIDR_ALLOWLIST_FIELD_NUMBER: _ClassVar[int]
    CLOUD_FIELD_NUMBER: _ClassVar[int]
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    VERBOSE_FIELD_NUMBER: _ClassVar[int]
    PROXY_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_DOMAIN_FIELD_NUMBER: _ClassVar[int]
    cpu: float
    cpu_limit: float
    memory_mib: int
    memory_limit_mib: int
    gpu: str
    timeout: float
    idle_timeout: float
    workdir: str
    command: _containers.RepeatedScalarFieldContainer[str]
    env: _containers.ScalarMap[str, str]
    secret_ids: _containers.RepeatedScalarFieldContainer[str]
    volumes: _containers.ScalarMap[str, str]
    cloud_bucket_mounts: _containers.MessageMap[str, CloudBucketMount]
    pty: bool
    encrypted_ports: _containers.RepeatedScalarFieldContainer[int]
    h2_ports: _containers.RepeatedScalarFieldContainer[int]
    unencrypted_ports: _containers.RepeatedScalarFieldContainer[int]
    block_network: bool
    cidr_allowlist: _containers.RepeatedScalarFieldContainer[str]
    cloud: str
    regions: _containers.RepeatedScalarFieldContainer[str]
    verbose: bool
    proxy_id: str
    name: str
    custom_domain: str
    def __init__(self, cpu: _Optional[float] = ..., cpu_limit: _Optional[float] = ..., memory_mib: _Optional[int] = ..., memory_limit_mib: _Optional[int] = ..., gpu: _Optional[str] = ..., timeout: _Optional[float] = ..., idle_timeout: _Optional[float] = ..., workdir: _Optional[str] = ..., command: _Optional[_Iterable[str]] = ..., env: _Optional[_Mapping[str, str]] = ..., secret_ids: _Optional[_Iterable[str]] = ..., volumes: _Optional[_Mapping[str, str]] = ..., cloud_bucket_mounts: _Optional[_Mapping[str, CloudBucketMount]] = ..., pty: _Optional[bool] = ..., encrypted_ports: _Optional[_Iterable[int]] = ..., h2_ports: _Optional[_Iterable[int]] = ..., unencrypted_ports: _Optional[_Iterable[int]] = ..., block_network: _Optional[bool] = ..., cidr_allowlist: _Optional[_Iterable[str]] = ..., cloud: _Optional[str] = ..., regions: _Optional[_Iterable[str]] = ..., verbose: _Optional[bool] = ..., proxy_id: _Optional[str] = ..., name: _Optional[str] = ..., custom_domain: _Optional[str] = ...) -> None: ...

class CloudBucketMount(_message.Message):
    __slots__ = ("bucket_name", "bucket_endpoint_url", "key_prefix", "secret_id", "read_only", "requester_pays")
    BUCKET_NAME_FIELD_NUMBER: _ClassVar[int]
    BUCKET_ENDPOINT_URL_FIELD_NUMBER: _ClassVar[int]
    KEY_PREFIX_FIELD_NUMBER: _ClassVar[int]
    SECRET_ID_FIELD_NUMBER: _ClassVar[int]
    READ_ONLY_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_PAYS_FIELD_NUMBER: _ClassVar[int]
    bucket_name: str
    bucket_endpoint_url: str
    key_prefix: str
    secret_id: str
    read_only: bool
    requester_pays: bool
    def __init__(self, bucket_name: _Optional[str] = ..., bucket_endpoint_url: _Optional[str] = ..., key_prefix: _Optional[str] = ..., secret_id: _Optional[str] = ..., read_only: _Optional[bool] = ..., requester_pays: _Optional[bool] = ...) -> None: ...

class SandboxCreateRequest(_message.Message):
    __slots__ = ("app_id", "image_id", "image_tag", "params")
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_TAG_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    image_id: str
    image_tag: str
    params: SandboxCreateParams
    def __init__(self, app_id: _Optional[str] = ..., image_id: _Optional[str] = ..., image_tag: _Optional[str] = ..., params: _Optional[_Union[SandboxCreateParams, _Mapping]] = ...) -> None: ...

class SandboxInfo(_message.Message):
    __slots__ = ("sandbox_id", "app_id", "app_name", "environment", "name", "image_id", "image_tag", "params", "state", "exit_code", "termination_reason", "tags", "created_at", "started_at", "finished_at", "deadline", "last_activity", "node")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SANDBOX_ID_FIELD_NUMBER: _ClassVar[int]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    APP_NAME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    IMAGE_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_TAG_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    TERMINATION_REASON_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    LAST_ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    sandbox_id: str
    app_id: str
    app_name: str
    environment: str
    name: str
    image_id: str
    image_tag: str
    params: SandboxCreateParams
    state: SandboxState
    exit_code: int
    termination_reason: TerminationReason
    tags: _containers.ScalarMap[str, str]
    created_at: float
    started_at: float
    finished_at: float
    deadline: float
    last_activity: float
    node: str
    def __init__(self, sandbox_id: _Optional[str] = ..., app_id: _Optional[str] = ..., app_name: _Optional[str] = ..., environment: _Optional[str] = ..., name: _Optional[str] = ..., image_id: _Optional[str] = ..., image_tag: _Optional[str] = ..., params: _Optional[_Union[SandboxCreateParams, _Mapping]] = ..., state: _Optional[_Union[SandboxState, str]] = ..., exit_code: _Optional[int] = ..., termination_reason: _Optional[_Union[TerminationReason, str]] = ..., tags: _Optional[_Mapping[str, str]] = ..., created_at: _Optional[float] = ..., started_at: _Optional[float] = ..., finished_at: _Optional[float] = ..., deadline: _Optional[float] = ..., last_activity: _Optional[float] = ..., node: _Optional[str] = ...) -> None: ...

class SandboxFromIdRequest(_message.Message):
    __slots__ = ("sandbox_id",)
    SANDBOX_ID_FIELD_NUMBER: _ClassVar[int]
    sandbox_id: str
    def __init__(self, sandbox_id: _Optional[str] = ...) -> None: ...

class SandboxFromNameRequest(_message.Message):
    __slots__ = ("app_name", "name", "environment")
    APP_NAME_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    app_name: str
    name: str
    environment: str
    def __init__(self, app_name: _Optional[str] = ..., name: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class SandboxListRequest(_message.Message):
    __slots__ = ("app_id", "tags", "environment", "include_finished", "node")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_FINISHED_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    tags: _containers.ScalarMap[str, str]
    environment: str
    include_finished: bool
    node: str
    def __init__(self, app_id: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., environment: _Optional[str] = ..., include_finished: _Optional[bool] = ..., node: _Optional[str] = ...) -> None: ...

class SandboxTerminateRequest(_message.Message):
    __slots__ = ("sandbox_id", "wait")
    SANDBOX_ID_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    sandbox_id: str
    wait: bool
    def __init__(self, sandbox_id: _Optional[str] = ..., wait: _Optional[bool] = ...) -> None: ...

class SandboxTerminateResponse(_message.Message):
    __slots__ = ("exit_code",)
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    exit_code: int
    def __init__(self, exit_code: _Optional[int] = ...) -> None: ...

class SandboxWaitRequest(_message.Message):
    __slots__ = ("sandbox_id", "timeout")
    SANDBOX_ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    sandbox_id: str
    timeout: float
    def __init__(self, sandbox_id: _Optional[str] = ..., timeout: _Optional[float] = ...) -> None: ...

class SandboxWaitResponse(_message.Message):
    __slots__ = ("done", "exit_code", "termination_reason")
    DONE_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    TERMINATION_REASON_FIELD_NUMBER: _ClassVar[int]
    done: bool
    exit_code: int
    termination_reason: TerminationReason
    def __init__(self, done: _Optional[bool] = ..., exit_code: _Optional[int] = ..., termination_reason: _Optional[_Union[TerminationReason, str]] = ...) -> None: ...

class SandboxPollRequest(_message.Message):
    __slots__ = ("sandbox_id",)
    SANDBOX_ID_FIELD_NUMBER: _ClassVar[int]
    sandbox_id: str
    def __init__(self, sandbox_id: _Optional[str] = ...) -> None: ...

class SandboxPollResponse(_message.Message):
    __slots__ = ("exit_code",)
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    exit_code: int
    def __init__(self, exit_code: _Optional[int] = ...) -> None: ...

class SandboxTunnelsRequest(_message.Message):
    __slots__ = ("sandbox_id", "timeout")
    SANDBOX_ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    sandbox_id: str
    timeout: float
    def __init__(self, sandbox_id: _Optional[str] = ..., timeout: _Optional[float] = ...) -> None: ...

class Tunnel(_message.Message):
    __slots__ = ("container_port", "host", "port", "unencrypted_host", "unencrypted_port", "kind")
    CONTAINER_PORT_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    UNENCRYPTED_HOST_FIELD_NUMBER: _ClassVar[int]
    UNENCRYPTED_PORT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    container_port: int
    host: str
    port: int
    unencrypted_host: str
    unencrypted_port: int
    kind: str
    def __init__(self, container_port: _Optional[int] = ..., host: _Optional[str] = ..., port: _Optional[int] = ..., unencrypted_host: _Optional[str] = ..., unencrypted_port: _Optional[int] = ..., kind: _Optional[str] = ...) -> None: ...

class SandboxTunnelsResponse(_message.Message):
    __slots__ = ("tunnels",)
    TUNNELS_FIELD_NUMBER: _ClassVar[int]
    tunnels: _containers.RepeatedCompositeFieldContainer[Tunnel]
    def __init__(self, tunnels: _Optional[_Iterable[_Union[Tunnel, _Mapping]]] = ...) -> None: ...

class SandboxSnapshotFilesystemRequest(_message.Message):
    __slots__ = ("sandbox_id", "timeout")
    SANDBOX_ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    sandbox_id: str
    timeout: float
    def __init__(self, sandbox_id: _Optional[str] = ..., timeout: _Optional[float] = ...) -> None: ...

class SandboxLogsRequest(_message.Message):
    __slots__ = ("sandbox_id", "follow", "tail_lines")
    SANDBOX_ID_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    TAIL_LINES_FIELD_NUMBER: _ClassVar[int]
    sandbox_id: str
    follow: bool
    tail_lines: int
    def __init__(self, sandbox_id: _Optional[str] = ..., follow: _Optional[bool] = ..., tail_lines: _Optional[int] = ...) -> None: ...

class LogChunk(_message.Message):
    __slots__ = ("stdout", "stderr", "time")
    STDOUT_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    stdout: bytes
    stderr: bytes
    time: float
    def __init__(self, stdout: _Optional[bytes] = ..., stderr: _Optional[bytes] = ..., time: _Optional[float] = ...) -> None: ...

class SandboxSetTagsRequest(_message.Message):
    __slots__ = ("sandbox_id", "tags")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SANDBOX_ID_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    sandbox_id: str
    tags: _containers.ScalarMap[str, str]
    def __init__(self, sandbox_id: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ...) -> None: ...

class SandboxGetTagsRequest(_message.Message):
    __slots__ = ("sandbox_id",)
    SANDBOX_ID_FIELD_NUMBER: _ClassVar[int]
    sandbox_id: str
    def __init__(self, sandbox_id: _Optional[str] = ...) -> None: ...

class SandboxTagsResponse(_message.Message):
    __slots__ = ("tags",)
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TAGS_FIELD_NUMBER: _ClassVar[int]
    tags: _containers.ScalarMap[str, str]
    def __init__(self, tags: _Optional[_Mapping[str, str]] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ("app_id", "environment", "initial", "include_finished")
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    INITIAL_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_FINISHED_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    environment: str
    initial: bool
    include_finished: bool
    def __init__(self, app_id: _Optional[str] = ..., environment: _Optional[str] = ..., initial: _Optional[bool] = ..., include_finished: _Optional[bool] = ...) -> None: ...

class SandboxEvent(_message.Message):
    __slots__ = ("kind", "sandbox", "time")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[SandboxEvent.Kind]
        EXISTING: _ClassVar[SandboxEvent.Kind]
        SYNCED: _ClassVar[SandboxEvent.Kind]
        CREATED: _ClassVar[SandboxEvent.Kind]
        STATE_CHANGED: _ClassVar[SandboxEvent.Kind]
        EXITED: _ClassVar[SandboxEvent.Kind]
        TAGS_CHANGED: _ClassVar[SandboxEvent.Kind]
    KIND_UNSPECIFIED: SandboxEvent.Kind
    EXISTING: SandboxEvent.Kind
    SYNCED: SandboxEvent.Kind
    CREATED: SandboxEvent.Kind
    STATE_CHANGED: SandboxEvent.Kind
    EXITED: SandboxEvent.Kind
    TAGS_CHANGED: SandboxEvent.Kind
    KIND_FIELD_NUMBER: _ClassVar[int]
    SANDBOX_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    kind: SandboxEvent.Kind
    sandbox: SandboxInfo
    time: float
    def __init__(self, kind: _Optional[_Union[SandboxEvent.Kind, str]] = ..., sandbox: _Optional[_Union[SandboxInfo, _Mapping]] = ..., time: _Optional[float] = ...) -> None: ...

class ExecStart(_message.Message):
    __slots__ = ("sandbox_id", "command", "workdir", "env", "secret_ids", "timeout", "stdout", "stderr", "pty", "rows", "cols", "term")
    class EnvEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SANDBOX_ID_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    WORKDIR_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    SECRET_IDS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    STDOUT_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    PTY_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    COLS_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    sandbox_id: str
    command: _containers.RepeatedScalarFieldContainer[str]
    workdir: str
    env: _containers.ScalarMap[str, str]
    secret_ids: _containers.RepeatedScalarFieldContainer[str]
    timeout: float
    stdout: StdioBehavior
    stderr: StdioBehavior
    pty: bool
    rows: int
    cols: int
    term: str
    def __init__(self, sandbox_id: _Optional[str] = ..., command: _Optional[_Iterable[str]] = ..., workdir: _Optional[str] = ..., env: _Optional[_Mapping[str, str]] = ..., secret_ids: _Optional[_Iterable[str]] = ..., timeout: _Optional[float] = ..., stdout: _Optional[_Union[StdioBehavior, str]] = ..., stderr: _Optional[_Union[StdioBehavior, str]] = ..., pty: _Optional[bool] = ..., rows: _Optional[int] = ..., cols: _Optional[int] = ..., term: _Optional[str] = ...) -> None: ...

class ExecResize(_message.Message):
    __slots__ = ("rows", "cols")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    COLS_FIELD_NUMBER: _ClassVar[int]
    rows: int
    cols: int
    def __init__(self, rows: _Optional[int] = ..., cols: _Optional[int] = ...) -> None: ...

class ExecRequest(_message.Message):
    __slots__ = ("start", "stdin", "stdin_eof", "resize", "signal")
    START_FIELD_NUMBER: _ClassVar[int]
    STDIN_FIELD_NUMBER: _ClassVar[int]
    STDIN_EOF_FIELD_NUMBER: _ClassVar[int]
    RESIZE_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    start: ExecStart
    stdin: bytes
    stdin_eof: bool
    resize: ExecResize
    signal: int
    def __init__(self, start: _Optional[_Union[ExecStart, _Mapping]] = ..., stdin: _Optional[bytes] = ..., stdin_eof: _Optional[bool] = ..., resize: _Optional[_Union[ExecResize, _Mapping]] = ..., signal: _Optional[int] = ...) -> None: ...

class ExecExit(_message.Message):
    __slots__ = ("exit_code", "timed_out")
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    TIMED_OUT_FIELD_NUMBER: _ClassVar[int]
    exit_code: int
    timed_out: bool
    def __init__(self, exit_code: _Optional[int] = ..., timed_out: _Optional[bool] = ...) -> None: ...

class ExecResponse(_message.Message):
    __slots__ = ("started", "stdout", "stderr", "exit")
    STARTED_FIELD_NUMBER: _ClassVar[int]
    STDOUT_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    EXIT_FIELD_NUMBER: _ClassVar[int]
    started: str
    stdout: bytes
    stderr: bytes
    exit: ExecExit
    def __init__(self, started: _Optional[str] = ..., stdout: _Optional[bytes] = ..., stderr: _Optional[bytes] = ..., exit: _Optional[_Union[ExecExit, _Mapping]] = ...) -> None: ...

class TokenInfo(_message.Message):
    __slots__ = ("token_id", "environment", "description", "created_at")
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    token_id: str
    environment: str
    description: str
    created_at: float
    def __init__(self, token_id: _Optional[str] = ..., environment: _Optional[str] = ..., description: _Optional[str] = ..., created_at: _Optional[float] = ...) -> None: ...

class TokenCreateRequest(_message.Message):
    __slots__ = ("environment", "description")
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    environment: str
    description: str
    def __init__(self, environment: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class TokenCreateResponse(_message.Message):
    __slots__ = ("token", "value")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    token: TokenInfo
    value: str
    def __init__(self, token: _Optional[_Union[TokenInfo, _Mapping]] = ..., value: _Optional[str] = ...) -> None: ...

class TokenListRequest(_message.Message):
    __slots__ = ("environment",)
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    environment: str
    def __init__(self, environment: _Optional[str] = ...) -> None: ...

class TokenListResponse(_message.Message):
    __slots__ = ("tokens",)
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    tokens: _containers.RepeatedCompositeFieldContainer[TokenInfo]
    def __init__(self, tokens: _Optional[_Iterable[_Union[TokenInfo, _Mapping]]] = ...) -> None: ...

class TokenRevokeRequest(_message.Message):
    __slots__ = ("token_id",)
    TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    token_id: str
    def __init__(self, token_id: _Optional[str] = ...) -> None: ...

class TokenRevokeResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
