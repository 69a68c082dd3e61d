import type { Actor } from '@caseline/event-store';

export const roles = ['officer', 'social_worker', 'supervisor', 'auditor', 'admin'] as const;
export type Role = (typeof roles)[number];

/** The verified caller: every event's actor comes from here, never from a request body. */
export interface AuthenticatedActor extends Actor {
  role: Role;
}

export const isRole = (value: unknown): value is Role => typeof value === 'string' && (roles as readonly string[]).includes(value);
