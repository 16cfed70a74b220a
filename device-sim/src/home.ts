/**
 * The default simulated home: rooms with the devices a real flat has, one
 * of each kind or so, in an order that keeps a small fleet varied (the
 * first five devices are five different kinds). A fleet larger than the
 * home repeats it: "Living room 2 thermostat".
 */
export interface HomeDevice {
  room: string;
  kind: string;
  /** Passed to the model (ModelOptions.variant), e.g. a contact on a `door`. */
  variant?: string;
  /** What the device is called in its room; the model's label by default. */
  label?: string;
}

export const DEFAULT_HOME: readonly HomeDevice[] = Object.freeze([
  { room: 'Living room', kind: 'thermostat' },
  { room: 'Living room', kind: 'dimmable-light', label: 'ceiling light' },
  { room: 'Kitchen', kind: 'smart-plug', label: 'fridge plug' },
  { room: 'Hallway', kind: 'motion-sensor' },
  { room: 'Hallway', kind: 'contact-sensor', variant: 'door', label: 'front door' },
  { room: 'Bedroom', kind: 'climate-sensor' },
  { room: 'Bedroom', kind: 'contact-sensor', variant: 'window', label: 'window' },
  { room: 'Utility room', kind: 'energy-meter' },
  { room: 'Office', kind: 'dimmable-light', label: 'desk lamp' },
  { room: 'Bathroom', kind: 'climate-sensor' },
]);
