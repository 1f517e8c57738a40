// The polls app's URL table, Django style.
import { path } from '../../server/urls.ts';
import { createPolls } from './models.ts';
import { pollViews } from './views.ts';

export function pollUrls(views = pollViews(createPolls())) {
  return [
    path('', views.index, { name: 'polls-index' }),
    path('<int:id>/', views.detail, { name: 'polls-detail' }),
    path('<int:id>/vote/', views.vote, { name: 'polls-vote', methods: ['POST'] }),
    path('<int:id>/results/', views.results, { name: 'polls-results', idleTimeoutMs: 10 * 60_000 }),
  ];
}
