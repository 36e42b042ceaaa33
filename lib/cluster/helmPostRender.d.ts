/** Types of ./helmPostRender.js (plain JavaScript: Helm runs it as the release's post-renderer). */

/** The post-rendered manifests: Dragonfly's config ConfigMaps as Secrets, their volumes too. */
export declare function postRender(text: string): string;
