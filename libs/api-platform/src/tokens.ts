/** DI token of the event store port. */
export const EVENT_STORE = Symbol('EVENT_STORE');
/** DI token of the loaded AppConfig. */
export const APP_CONFIG = Symbol('APP_CONFIG');
/** DI token of the projector running in this process (null when PROJECTOR=off). */
export const PROJECTOR = Symbol('PROJECTOR');
