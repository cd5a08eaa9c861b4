/**
 * The part of better-sqlite3's API this project uses (the package ships no types and @types/better-sqlite3 is
 * not a dependency). Shapes as in the package's docs/api.md for version 12.
 */
declare module 'better-sqlite3' {
  type BindValue = string | number | bigint | Buffer | null;
  /** Positional values, or an object whose keys name the `@name` parameters. */
  type BindParameters = readonly BindValue[] | object;

  interface RunResult {
    changes: number;
    lastInsertRowid: number | bigint;
  }

  interface Statement<Row = unknown> {
    run(...parameters: readonly BindValue[]): RunResult;
    run(parameters: BindParameters): RunResult;
    get(...parameters: readonly BindValue[]): Row | undefined;
    get(parameters: BindParameters): Row | undefined;
    all(...parameters: readonly BindValue[]): Row[];
    all(parameters: BindParameters): Row[];
    iterate(...parameters: readonly BindValue[]): IterableIterator<Row>;
    iterate(parameters: BindParameters): IterableIterator<Row>;
  }

  interface Options {
    readonly?: boolean;
    fileMustExist?: boolean;
    /** Milliseconds to wait on a locked database before SQLITE_BUSY. */
    timeout?: number;
  }

  interface Database {
    readonly open: boolean;
    readonly inTransaction: boolean;
    prepare<Row = unknown>(source: string): Statement<Row>;
    exec(source: string): this;
    pragma(source: string, options?: { simple?: boolean }): unknown;
    transaction<Args extends unknown[], Result>(fn: (...args: Args) => Result): (...args: Args) => Result;
    close(): this;
  }

  interface DatabaseConstructor {
    new (filename: string, options?: Options): Database;
    SqliteError: new (message: string, code: string) => Error & { code: string };
  }

  const Database: DatabaseConstructor;
  export default Database;
  export type { BindValue, Database, RunResult, Statement };
}
