// wrangler.jsonc bundles *.yaml files as text (rules: Text)
declare module "*.yaml" {
  const text: string;
  export default text;
}
