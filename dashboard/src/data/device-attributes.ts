/**
 * The device page's name, room and labels form, without DOM: what the
 * operator typed, turned into the PATCH /api/devices/{id} body of what
 * changed. The hub checks every value (and says which field is wrong);
 * here only the text is split and trimmed.
 */
import type { DeviceUpdateRequest, DeviceView } from '@iot-hub/protocol';

export interface AttributeDraft {
  name: string;
  room: string;
  /** Labels as typed: separated by commas or spaces. */
  labels: string;
}

export function draftOf(device: Pick<DeviceView, 'name' | 'room' | 'labels'>): AttributeDraft {
  return { name: device.name, room: device.room ?? '', labels: device.labels.join(', ') };
}

/** `"a, b  c,,"` → `["a", "b", "c"]`, each once, in the order typed (the hub sorts). */
export function parseLabels(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter((label) => label !== ''))];
}

/** The fields of `draft` that differ from `device`; an empty room clears it. Empty when nothing changed. */
export function attributePatch(device: Pick<DeviceView, 'name' | 'room' | 'labels'>, draft: AttributeDraft): DeviceUpdateRequest {
  const patch: DeviceUpdateRequest = {};
  const name = draft.name.trim();
  if (name !== device.name) patch.name = name;
  const room = draft.room.trim() === '' ? null : draft.room.trim();
  if (room !== device.room) patch.room = room;
  const labels = parseLabels(draft.labels);
  const sorted = [...labels].sort();
  if (sorted.length !== device.labels.length || sorted.some((label, i) => label !== device.labels[i])) patch.labels = labels;
  return patch;
}

/** The device as it will look once the hub takes `patch`: shown at once, rolled back if the hub refuses. */
export function withPatch<T extends Pick<DeviceView, 'name' | 'room' | 'labels'>>(device: T, patch: DeviceUpdateRequest): T {
  return {
    ...device,
    ...(patch.name === undefined ? {} : { name: patch.name }),
    ...(patch.room === undefined ? {} : { room: patch.room }),
    ...(patch.labels === undefined ? {} : { labels: [...new Set(patch.labels)].sort() }),
  };
}
