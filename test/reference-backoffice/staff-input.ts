/**
 * Staff input, checked in full before anything is written: bad input is a BackOfficeError
 * naming the field, and changes nothing.
 */
import { z } from 'zod';
import type { PhoneError, PlateError } from '../../kiosk/core/normalise.js';
import { BackOfficeError } from './errors.js';

// --- input ------------------------------------------------------------------------------

export const DATE = /^\d{4}-\d{2}-\d{2}$/;
export const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;
/** The shape JSON Schema's `format: email` accepts (ajv-formats), so the locker never refuses what is sent. */
export const EMAIL = /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/i;
export const TABLET_ID = /^[A-Za-z0-9._-]{1,40}$/;

export const emptyToNull = (value: unknown): unknown => (typeof value === 'string' && value.trim() === '' ? null : value);
export const realDate = (value: string): boolean => {
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
};

export const reservationFields = {
  workOrder: z.string().trim().min(1, 'is required').max(40),
  plate: z.string().max(64),
  driverName: z.string().trim().min(1, 'is required').max(100),
  phones: z.array(z.string().max(64)).max(5),
  email: z.preprocess(emptyToNull, z.string().trim().max(254).regex(EMAIL, 'is not an e-mail address').nullable()),
  appointmentDate: z.string().regex(DATE, 'must be YYYY-MM-DD').refine(realDate, 'is not a calendar date'),
  appointmentTime: z.preprocess(emptyToNull, z.string().regex(TIME, 'must be HH:MM').nullable()),
  compartmentId: z.preprocess(emptyToNull, z.number().int().min(1).max(16).nullable()),
};

export const createSchema = z.strictObject({
  unitId: z.string().min(1).max(100).optional(),
  kind: z.enum(['dropoff', 'pickup']),
  ...reservationFields,
  phones: reservationFields.phones.default([]),
  email: reservationFields.email.default(null),
  appointmentDate: reservationFields.appointmentDate.optional(),
  appointmentTime: reservationFields.appointmentTime.default(null),
  compartmentId: reservationFields.compartmentId.default(null),
  paymentRequired: z.boolean().default(false),
  /** A PIN staff choose (6 digits); refused when another active reservation of the unit has it. Default: a fresh one. */
  pin: z.string().regex(/^\d{6}$/, 'must be 6 digits').optional(),
  paymentAmount: z.preprocess(emptyToNull, z.number().int().min(0).max(1_000_000_000).nullable()).default(null),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as NOK').default('NOK'),
});

export const updateSchema = z
  .strictObject({
    workOrder: reservationFields.workOrder.optional(),
    plate: reservationFields.plate.optional(),
    driverName: reservationFields.driverName.optional(),
    phones: reservationFields.phones.optional(),
    email: reservationFields.email.optional(),
    appointmentDate: reservationFields.appointmentDate.optional(),
    appointmentTime: reservationFields.appointmentTime.optional(),
    compartmentId: reservationFields.compartmentId.optional(),
  })
  .refine((value) => Object.keys(value).length > 0, 'nothing to change');

export const paymentSchema = z.strictObject({ status: z.enum(['paid', 'cancelled', 'refunded']) });
/** lockout.lift: the locker's back-off (unitId, optional with one unit) or one reservation's lock. */
export const liftSchema = z.strictObject({
  unitId: z.string().min(1).max(100).optional(),
  reservationId: z.string().min(1).max(128).optional(),
});
/** compartment.clear-quarantine: what the person found, and who they are. */
export const clearQuarantineSchema = z.strictObject({
  reason: z.string().trim().min(1, 'say what you found').max(500),
  by: z.preprocess(emptyToNull, z.string().trim().max(100).nullable()).default(null),
});
export const helpSchema = z.strictObject({
  by: z.preprocess(emptyToNull, z.string().trim().max(60).nullable()).default(null),
  unitId: z.string().min(1).max(100).optional(),
});
/** The tablet is not named here: it is the one its credential authenticates (tablets.ts). */
export const mechanicSchema = z.strictObject({
  reservationId: z.string().min(1).max(100),
  purpose: z.enum(['retrieve', 'deposit']).default('retrieve'),
});
export const scanSchema = z.strictObject({
  requestId: z.string().min(1).max(100),
  token: z.string().trim().min(1).max(1024),
});

export function parse<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join('.') : null;
  const message = issue?.code === 'unrecognized_keys' ? `unknown field ${issue.keys.join(', ')}` : (issue?.message ?? 'invalid');
  throw new BackOfficeError('BAD_INPUT', field ? `${field}: ${message}` : message, field ?? (issue?.code === 'unrecognized_keys' ? (issue.keys[0] ?? null) : null));
}

export const PLATE_ERRORS: Record<PlateError, string> = {
  empty: 'is required',
  too_short: 'is too short for a licence plate',
  too_long: 'is too long for a licence plate',
  invalid_characters: 'may hold only letters, digits, spaces and dashes',
};
export const PHONE_ERRORS: Record<PhoneError, string> = {
  empty: 'is empty',
  invalid_characters: 'may hold only digits, spaces, dashes and a leading +',
  too_short: 'is too short for a phone number',
  too_long: 'is too long for a phone number',
  invalid_number: 'is not a phone number',
};
