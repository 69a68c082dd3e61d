export * from './projection';
export * from './casework-projections';
export * from './projector';
export * from './rebuild';
export * from './read-models/entities';
export { ReadModels } from './read-models/read-model-database';
export * from './read-queries';
export * from './outcomes';
