export * from './casework.module';
export * from './dto';
