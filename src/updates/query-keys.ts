/** Query key of the installed version and backend status. */
export const VERSION_QUERY_KEY = ['backend-updates', 'version'] as const;
