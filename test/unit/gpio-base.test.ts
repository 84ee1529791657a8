import t from 'tap';
import { join } from 'node:path';
import { findGpioBase, listGpioChips } from '../../controller/drivers/gpio-base.js';

const chip = (label: string, base: number) => ({ label: `${label}\n`, base: `${base}\n`, ngpio: '32\n' });

t.test('Pi 4 on kernel 6.6: the bcm2711 chip at 512, not the firmware expander', async (t) => {
  // As on the Pi: /sys/class/gpio/gpiochipN are symlinks into /sys/devices.
  const root = t.testdir({
    devices: { soc: chip('pinctrl-bcm2711', 512), firmware: chip('raspberrypi-exp-gpio', 570) },
    gpio: {
      export: '',
      unexport: '',
      gpiochip512: t.fixture('symlink', '../devices/soc'),
      gpiochip570: t.fixture('symlink', '../devices/firmware'),
    },
  });
  t.equal(await findGpioBase(join(root, 'gpio')), 512);
  t.equal(512 + 17, 529, 'so BCM17 is sysfs 529');
});

t.test('Pi 5: the RP1 chip, even listed after the SoC gpio-brcmstb chips', async (t) => {
  const root = t.testdir({
    gpiochip512: chip('gpio-brcmstb@107d508500', 512),
    gpiochip544: chip('gpio-brcmstb@107d508520', 544),
    gpiochip571: chip('pinctrl-rp1', 571),
  });
  t.equal(await findGpioBase(root), 571);
});

t.test('older kernels: bcm2835 at base 0 is a valid base', async (t) => {
  const root = t.testdir({ gpiochip0: chip('pinctrl-bcm2835', 0), gpiochip504: chip('raspberrypi-exp-gpio', 504) });
  t.equal(await findGpioBase(root), 0);
});

t.test('no header chip: DRIVER_UNAVAILABLE naming what was found', async (t) => {
  const root = t.testdir({ gpiochip570: chip('raspberrypi-exp-gpio', 570), export: '' });
  await t.rejects(findGpioBase(root), { code: 'DRIVER_UNAVAILABLE', message: /pinctrl-rp1.*found gpiochip570 "raspberrypi-exp-gpio"/ });
  await t.rejects(findGpioBase(t.testdir({})), { code: 'DRIVER_UNAVAILABLE', message: /no GPIO chips/ });
});

t.test('no sysfs GPIO at all: DRIVER_UNAVAILABLE naming the directory', async (t) => {
  const missing = join(t.testdir({}), 'class', 'gpio');
  await t.rejects(findGpioBase(missing), { code: 'DRIVER_UNAVAILABLE', message: new RegExp(`no sysfs GPIO at ${missing}`) });
});

t.test('chips that cannot be read, or have no numeric base, are skipped', async (t) => {
  const root = t.testdir({
    gpiochip1: { label: 'pinctrl-rp1\n' }, // no base file
    gpiochip2: { label: 'pinctrl-rp1\n', base: 'x\n' },
    gpiochip512: chip('pinctrl-bcm2711', 512),
  });
  t.same(await listGpioChips(root), [{ chip: 'gpiochip512', label: 'pinctrl-bcm2711', base: 512 }]);
  t.equal(await findGpioBase(root), 512);
});
