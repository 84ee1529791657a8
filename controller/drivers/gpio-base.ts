import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, HardwareError } from '../errors.js';

/**
 * The header's GPIO controller, by label, best first. Since kernel 6.6 its sysfs base is no
 * longer 0 (Pi 4: 512, Pi 5: 571), so sysfs numbers are `base + BCM` and the base must be
 * read, not assumed. A Pi 5 also lists the SoC's own gpio-brcmstb chips: those are not the
 * header, hence matching by label rather than taking the first chip.
 */
export const HEADER_GPIO_LABELS = ['pinctrl-rp1', 'pinctrl-bcm2711', 'pinctrl-bcm2835'] as const;

export interface GpioChipInfo {
  /** Directory name, e.g. `gpiochip512`. */
  readonly chip: string;
  readonly label: string;
  readonly base: number;
}

/** Every `gpiochip*` under `sysfsRoot` with its label and base; unreadable chips are skipped. */
export async function listGpioChips(sysfsRoot: string): Promise<GpioChipInfo[]> {
  let entries: string[];
  try {
    entries = await readdir(sysfsRoot);
  } catch (error) {
    throw new HardwareError('DRIVER_UNAVAILABLE', `no sysfs GPIO at ${sysfsRoot}: ${describeError(error)}`, { cause: error });
  }
  const chips: GpioChipInfo[] = [];
  for (const chip of entries.filter((name) => name.startsWith('gpiochip')).sort()) {
    try {
      const label = (await readFile(join(sysfsRoot, chip, 'label'), 'utf8')).trim();
      const base = Number((await readFile(join(sysfsRoot, chip, 'base'), 'utf8')).trim());
      if (Number.isInteger(base) && base >= 0) chips.push({ chip, label, base });
    } catch {
      // Not a chip directory we can read: it cannot be the one we want either.
    }
  }
  return chips;
}

/**
 * The sysfs number of BCM line 0 on this Pi: the base of the header's GPIO chip under
 * `sysfsRoot` (normally /sys/class/gpio). Rejects DRIVER_UNAVAILABLE when there is none.
 */
export async function findGpioBase(sysfsRoot: string): Promise<number> {
  const chips = await listGpioChips(sysfsRoot);
  for (const label of HEADER_GPIO_LABELS) {
    const chip = chips.find((candidate) => candidate.label === label);
    if (chip) return chip.base;
  }
  const found = chips.map((chip) => `${chip.chip} "${chip.label}"`).join(', ') || 'no GPIO chips';
  throw new HardwareError(
    'DRIVER_UNAVAILABLE',
    `no Raspberry Pi header GPIO chip (${HEADER_GPIO_LABELS.join(', ')}) under ${sysfsRoot}; found ${found}`,
  );
}
