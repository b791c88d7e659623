/**
 * The API's routes by path template, so an unmatched request can be told apart: a known path
 * with another method is 405 with `Allow` (Fastify itself answers 404 for both).
 */
export class RouteTable {
  private readonly routes: { template: string; pattern: RegExp; methods: Set<string> }[] = [];

  /** Records that `method` is served at `template` (`:name` matches one path segment). */
  add(method: string, template: string): void {
    const source = template
      .split('/')
      .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    const existing = this.routes.find((r) => r.template === template);
    if (existing) existing.methods.add(method.toUpperCase());
    else
      this.routes.push({
        template,
        pattern: new RegExp(`^${source}$`),
        methods: new Set([method.toUpperCase()]),
      });
  }

  /** The methods served at `path` (empty when the path is unknown). */
  allowedMethods(path: string): string[] {
    const route = this.routes.find((r) => r.pattern.test(path));
    return route ? [...route.methods].sort() : [];
  }
}
