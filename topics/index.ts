// The topic tool's programmatic API, for the fleet's `npm start` and other tools.
export {
  type ApplyReport,
  applyTopics,
  type ClusterPlan,
  planTopicsOnCluster,
  TopicApplyError,
  type TopicToolOptions,
} from './applyTopics.ts';
export type { CatalogTopic, CleanupPolicy, ProfileOverrides, TopicCatalog } from './catalogSchema.ts';
export {
  type DesiredTopic,
  deadLetterTopicName,
  managedConfigNames,
  resolveDesiredTopics,
} from './desiredTopics.ts';
export { formatPlan } from './formatPlan.ts';
export { javaConfigAdmin, type TopicConfigAdmin } from './javaConfigAdmin.ts';
export {
  defaultCatalogFile,
  loadTopicCatalog,
  parseTopicCatalog,
  parseTopicCatalogYaml,
} from './loadCatalog.ts';
export {
  isEmptyPlan,
  type ObservedTopic,
  planTopics,
  type TopicAction,
  type TopicPlan,
  type TopicRefusal,
} from './planTopics.ts';
export { loadTopicsConfig, type TopicsConfig } from './topicsConfig.ts';
export {
  CatalogError,
  ConfigAdminUnavailableError,
  TopicAdminError,
  UnknownProfileError,
} from './topicsErrors.ts';
