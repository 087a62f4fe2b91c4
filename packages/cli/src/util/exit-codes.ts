/** doveadm's exit codes, so runbooks that test `$?` keep working. */
export const EX_OK = 0;
export const EX_FAILURE = 1;
export const EX_USAGE = 64;
export const EX_DATAERR = 65;
export const EX_NOTFOUND = 68;
export const EX_TEMPFAIL = 75;

export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EX_FAILURE) {
    super(message);
    this.exitCode = exitCode;
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EX_USAGE);
  }
}
