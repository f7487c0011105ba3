import { QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { getBackendUpdates } from './bridge';
import { UpdatesProvider } from './updates/context';
import { createUpdatesQueryClient } from './updates/queries';
import './styles.css';

const container = document.getElementById('root');
if (!container) throw new Error('index.html has no element with id "root".');

const queryClient = createUpdatesQueryClient();
createRoot(container).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <UpdatesProvider api={getBackendUpdates()}>
        <App />
      </UpdatesProvider>
    </QueryClientProvider>
  </StrictMode>,
);
