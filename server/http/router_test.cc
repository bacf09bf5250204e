#include "server/http/router.h"

#include "gtest/gtest.h"

namespace epollhttp::http {
namespace {

class Named final : public SimpleHandler {
 public:
  void Answer(ResponseWriter& writer) const override { (void)writer; }
};

TEST(RouterTest, RoutesByMethodAndExactPathIgnoringTheQuery) {
  Named get_a, post_a, fallback;
  Router router;
  router.Handle(Method::kGet, "/a", &get_a);
  router.Handle(Method::kPost, "/a", &post_a);
  router.SetDefault(&fallback);
  EXPECT_EQ(&router.Route(Method::kGet, "/a"), &get_a);
  EXPECT_EQ(&router.Route(Method::kGet, "/a?x=1"), &get_a);
  EXPECT_EQ(&router.Route(Method::kPost, "/a"), &post_a);
  EXPECT_EQ(&router.Route(Method::kPut, "/a"), &fallback);
  EXPECT_EQ(&router.Route(Method::kGet, "/a/"), &fallback);
  EXPECT_EQ(&router.Route(Method::kGet, "/"), &fallback);
}

TEST(RouterTest, HeadFallsBackToGetButAHeadRouteWins) {
  Named get, head;
  Router router;
  router.Handle(Method::kGet, "/x", &get);
  EXPECT_EQ(&router.Route(Method::kHead, "/x"), &get);
  router.Handle(Method::kHead, "/x", &head);
  EXPECT_EQ(&router.Route(Method::kHead, "/x"), &head);
}

TEST(RouterTest, ALaterRouteReplacesAnEarlierOne) {
  Named first, second;
  Router router;
  router.Handle(Method::kGet, "/x", &first);
  router.Handle(Method::kGet, "/x", &second);
  EXPECT_EQ(&router.Route(Method::kGet, "/x"), &second);
}

TEST(RouterTest, AMatchNamesItsRouteForMetrics) {
  Named get, fallback;
  Router router;
  router.Handle(Method::kGet, "/x", &get);
  router.SetDefault(&fallback);
  EXPECT_EQ(router.Find(Method::kGet, "/x?q").route, "/x");
  EXPECT_EQ(router.Find(Method::kHead, "/x").route, "/x");
  EXPECT_EQ(router.Find(Method::kGet, "/y").route, "other");
  EXPECT_EQ(router.Find(Method::kGet, "/y").handler, &fallback);
}

TEST(RouterTest, TheDefaultDefaultIsNotFound) {
  Router router;
  EXPECT_NE(dynamic_cast<const NotFoundHandler*>(&router.Route(Method::kGet, "/")), nullptr);
}

}  // namespace
}  // namespace epollhttp::http
