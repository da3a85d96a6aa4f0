/**
 * Collects the placeholder maps of one DynamoDB request. Every attribute goes through `#name`, so
 * reserved words (status, name, result, error, ...) never need special care.
 */
export class ExpressionAttributes {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  #valueCount = 0;

  /** `attribute` must be a plain identifier; every attribute this code writes is one. */
  name(attribute: string): string {
    const placeholder = `#${attribute}`;
    this.names[placeholder] = attribute;
    return placeholder;
  }

  value(value: unknown): string {
    const placeholder = `:v${this.#valueCount++}`;
    this.values[placeholder] = value;
    return placeholder;
  }

  /** The request fields, leaving out an empty values map (DynamoDB rejects one). */
  toRequest(): {
    ExpressionAttributeNames: Record<string, string>;
    ExpressionAttributeValues?: Record<string, unknown>;
  } {
    return {
      ExpressionAttributeNames: this.names,
      ...(this.#valueCount === 0 ? {} : { ExpressionAttributeValues: this.values }),
    };
  }
}
