/**
 * The demo appointments, now kept by the reference back office and pushed to the locker as
 * commands: the same PINs, plates and names as the README's demo table. Only for a back office
 * started with `demo: true`.
 */

export interface DemoAppointment {
  pin: string;
  id: string;
  code: string;
  kind: 'dropoff' | 'pickup';
  workOrder: string;
  plateDisplay: string;
  driverName: string;
  phones: string[];
  email: string | null;
  appointmentTime: string | null;
  /** Pickup: the compartment that holds the key (the mechanic put it there). */
  compartmentId: number | null;
  payment: { status: 'pending' | 'paid'; amount: number; currency: string } | null;
}

export const DEMO_APPOINTMENTS: readonly DemoAppointment[] = [
  { pin: '123456', id: 'demo-dropoff-1', code: 'D1001', kind: 'dropoff', workOrder: 'WO-1001', plateDisplay: 'AB 12345', driverName: 'Kari Nordmann', phones: ['+4791234567'], email: 'kari.nordmann@example.com', appointmentTime: '08:00', compartmentId: null, payment: null },
  { pin: '234567', id: 'demo-dropoff-2', code: 'D1002', kind: 'dropoff', workOrder: 'WO-1002', plateDisplay: 'EL 98765', driverName: 'Ola Hansen', phones: ['+4798765432'], email: null, appointmentTime: '09:30', compartmentId: null, payment: null },
  { pin: '345678', id: 'demo-pickup-paid', code: 'P2001', kind: 'pickup', workOrder: 'WO-0990', plateDisplay: 'CD 34567', driverName: 'Ingrid Berg', phones: ['+4790011223'], email: 'ingrid@example.com', appointmentTime: null, compartmentId: 16, payment: { status: 'paid', amount: 189000, currency: 'NOK' } },
  { pin: '456789', id: 'demo-pickup-unpaid', code: 'P2002', kind: 'pickup', workOrder: 'WO-0991', plateDisplay: 'EF 45678', driverName: 'Lars Lie', phones: ['+4790044556'], email: 'lars@example.com', appointmentTime: null, compartmentId: 15, payment: { status: 'pending', amount: 249000, currency: 'NOK' } },
  { pin: '567890', id: 'demo-pickup-not-ready', code: 'P2003', kind: 'pickup', workOrder: 'WO-0992', plateDisplay: 'GH 56789', driverName: 'Nils Dahl', phones: ['+4790077889'], email: null, appointmentTime: null, compartmentId: null, payment: null },
];
