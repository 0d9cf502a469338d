from shared.downstream.graph_users import GraphUsersService


class PagedGraph:
    """Plays back Graph pages: the paging rules are pure logic; HTTP is covered end to end."""

    def __init__(self, pages):
        self.pages = pages
        self.urls = []

    def request(self, method, url, *, params=None, **kwargs):
        self.urls.append((url, params))
        return self.pages[min(len(self.urls) - 1, len(self.pages) - 1)]


def users(n, start=0):
    return [{"id": str(i)} for i in range(start, start + n)]


def service(pages):
    graph = PagedGraph(pages)
    return GraphUsersService(graph=graph, principal="the app"), graph


def test_follows_links_verbatim_and_sends_select_only_first():
    svc, graph = service(
        [
            {"value": users(2), "@odata.nextLink": "https://graph/v1.0/users?$skiptoken=a"},
            {"value": users(2, 2)},
        ]
    )
    result = svc.list(limit=10, select=("id",))
    assert result == {"value": users(4), "count": 4, "truncated": False}
    assert graph.urls[0] == ("/v1.0/users", {"$top": "10", "$select": "id"})
    assert graph.urls[1] == ("https://graph/v1.0/users?$skiptoken=a", None)


def test_truncated_when_the_page_holds_more_than_the_limit():
    svc, _ = service([{"value": users(5)}])
    assert svc.list(limit=3, select=None)["truncated"] is True


def test_truncated_when_graph_links_to_more_at_the_limit():
    svc, graph = service([{"value": users(3), "@odata.nextLink": "https://graph/next"}])
    result = svc.list(limit=3, select=None)
    assert (result["count"], result["truncated"]) == (3, True)
    assert len(graph.urls) == 1


def test_a_repeated_link_stops_paging():
    svc, graph = service([{"value": users(1), "@odata.nextLink": "https://graph/same"}])
    result = svc.list(limit=100, select=None)
    assert len(graph.urls) == 2
    assert result["count"] == 2


def test_an_empty_page_that_links_on_stops_paging():
    svc, graph = service([{"value": [], "@odata.nextLink": "https://graph/next"}])
    assert svc.list(limit=100, select=None)["count"] == 0
    assert len(graph.urls) == 1


def test_page_size_is_capped_at_999():
    svc, graph = service([{"value": users(3)}])
    svc.list(limit=5000, select=None)
    assert graph.urls[0][1]["$top"] == "999"
