/**
 * Limits of the device protocol [FP-7]. One place, shared by the hub (which
 * enforces them) and by device-sim and firmware authors (who stay under them).
 */

/** Version of the device protocol spoken by this code [FP-2.3]. */
export const PROTOCOL_VERSION = 1;

/** Largest payload a device may send in one MQTT publish or WS frame [FP-7]. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

/**
 * Device ids: also an MQTT topic level (so no `/`, `+`, `#`) and the user
 * part of `Basic id:token` (so no `:`) [FP-7].
 */
export const DEVICE_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
export const DEVICE_ID_MAX_LENGTH = 64;

/**
 * Device labels and rooms, given by operators through the API (not by
 * devices): what alert rules and filters scope by. A label is lower case so
 * `Kitchen` and `kitchen` cannot be two scopes; `:` allows `zone:north`.
 */
export const LABEL_PATTERN = '^[a-z0-9][a-z0-9_.:-]{0,63}$';
export const MAX_LABELS_PER_DEVICE = 16;
/** A room: 1 to 64 characters, no control characters, no space at either end. */
export const ROOM_PATTERN = '^[^\\s\\u0000-\\u001F\\u007F-\\u009F](?:[^\\u0000-\\u001F\\u007F-\\u009F]*[^\\s\\u0000-\\u001F\\u007F-\\u009F])?$';
export const ROOM_MAX_LENGTH = 64;

/** Metric, state key, command and parameter names [FP-7]. */
export const NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_.-]{0,63}$';

/**
 * Deepest nesting of objects and arrays in one device message, the message
 * itself counting as one level [FP-7]. Free-form values (a command's
 * `result`, unknown fields) are stored and re-encoded; without a bound a
 * value thousands deep overflows the stack of whatever walks it next.
 */
export const MAX_JSON_DEPTH = 32;

/** Most metrics in one telemetry sample [FP-7]. */
export const MAX_METRICS_PER_SAMPLE = 64;

/** Most samples in one telemetry batch [FP-7]. */
export const MAX_SAMPLES_PER_BATCH = 500;

/** Seq numbers the hub remembers per boot of a device, to drop resent samples [FP-4.2]. */
export const SEQ_WINDOW = 1024;

/** Boots per device whose seq windows the hub keeps, across its own restarts [FP-4.2]. */
export const MAX_BOOT_WINDOWS = 4;

/** Longest string boot id; a numeric one is an integer 0 to 2^53 − 1 [FP-4.2]. */
export const MAX_BOOT_ID_LENGTH = 64;

/** Smallest `maxMessageBytes` a device may declare: room for any `error` the hub sends [FP-7.2]. */
export const MIN_DEVICE_MESSAGE_BYTES = 1024;

/** Most state keys a `hello` may declare [FP-7]. */
export const MAX_DECLARED_STATE_KEYS = 64;

/** Most keys in a reported state document [FP-7]. */
export const MAX_STATE_KEYS = 64;

/** Longest string value anywhere in a message (state values, results, names) [FP-7]. */
export const MAX_STRING_LENGTH = 256;

/** Heartbeat interval bounds a device may declare in `hello`, in seconds [FP-5]. */
export const MIN_HEARTBEAT_SEC = 5;
export const MAX_HEARTBEAT_SEC = 3600;
export const DEFAULT_HEARTBEAT_SEC = 60;

/** A device is offline when not heard from for this many heartbeat intervals [FP-6]. */
export const HEARTBEAT_GRACE_FACTOR = 2.5;

/** Device timestamps must lie within this window around the hub's clock [FP-4.2]. */
export const MAX_TS_FUTURE_MS = 5 * 60 * 1000;
export const MAX_TS_PAST_MS = 365 * 24 * 3600 * 1000;

/** Protocol errors a connection may cause before the hub disconnects it [FP-8]. */
export const MAX_ERRORS_BEFORE_DISCONNECT = 10;

/** Milliseconds a WS device has to send `auth` when it did not authenticate in the upgrade [FP-3.2]. */
export const WS_AUTH_TIMEOUT_MS = 5_000;
