import { QueryClient, useMutation, useQuery } from '@tanstack/react-query';
import { BridgeError } from '../../preload/api';
import { useCheckInterval, useNotices, useUpdatesClient } from './context';
import { VERSION_QUERY_KEY } from './query-keys';

/**
 * Creates the app's QueryClient. Window focus and reconnects never refetch,
 * and nothing retries by itself: an update request repeated behind the
 * user's back would multiply feed traffic.
 */
export function createUpdatesQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: { refetchOnWindowFocus: false, refetchOnReconnect: false, retry: false },
      mutations: { retry: false },
    },
  });
}

/** How often the backend status is read again while the backend is not healthy, such as during start-up. */
export const UNHEALTHY_REFETCH_MS = 5000;

/** Reads the installed version and backend status; this reads local state and never contacts the feed. */
export function useBackendVersion() {
  const client = useUpdatesClient();
  const staleTime = useCheckInterval();
  return useQuery({
    queryKey: VERSION_QUERY_KEY,
    queryFn: () => client.getVersion(),
    staleTime,
    refetchOnWindowFocus: false,
    refetchOnReconnect: false,
    refetchInterval: (query) => (query.state.data?.backend.healthy === false ? UNHEALTHY_REFETCH_MS : false),
    retry: false,
  });
}

/** True for the error of a command that the user cancelled; it is not shown as a failure. */
export function isCancelledError(error: unknown): boolean {
  return error instanceof BridgeError && error.code === 'CANCELLED';
}

/**
 * Runs a check that the user started. A found update shows its toast, even
 * during the toast's cooldown, with keyboard focus on View. When that toast
 * is already showing, the dialog opens instead of a second toast.
 */
export function useCheckForUpdates() {
  const client = useUpdatesClient();
  const setManualCheckPending = useNotices((store) => store.setManualCheckPending);
  const presentFoundUpdate = useNotices((store) => store.presentFoundUpdate);
  return useMutation({
    mutationKey: ['backend-updates', 'check'],
    mutationFn: () => client.check(),
    retry: false,
    onMutate: () => setManualCheckPending(true),
    onSuccess: (result) => {
      if (result.updateAvailable) presentFoundUpdate(result.latestVersion);
    },
    onSettled: () => setManualCheckPending(false),
  });
}

/** Download, install and cancel commands. */
export function useUpdateCommands() {
  const client = useUpdatesClient();
  const download = useMutation({
    mutationKey: ['backend-updates', 'download'],
    mutationFn: () => client.download(),
    retry: false,
  });
  const install = useMutation({
    mutationKey: ['backend-updates', 'install'],
    mutationFn: () => client.install(),
    retry: false,
  });
  const cancel = useMutation({
    mutationKey: ['backend-updates', 'cancel'],
    mutationFn: () => client.cancel(),
    retry: false,
  });
  return { download, install, cancel };
}
