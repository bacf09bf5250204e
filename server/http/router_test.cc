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
  EXPECT_EQ(router.Find(Method::kGet, "/a").handler, &get_a);
  EXPECT_EQ(router.Find(Method::kGet, "/a?x=1").handler, &get_a);
  EXPECT_EQ(router.Find(Method::kPost, "/a").handler, &post_a);
  EXPECT_EQ(router.Find(Method::kPut, "/a").handler, &fallback);
  EXPECT_EQ(router.Find(Method::kGet, "/a/").handler, &fallback);
  EXPECT_EQ(router.Find(Method::kGet, "/").handler, &fallback);
}

TEST(RouterTest, HeadFallsBackToGetButAHeadRouteWins) {
  Named get, head;
  Router router;
  router.Handle(Method::kGet, "/x", &get);
  EXPECT_EQ(router.Find(Method::kHead, "/x").handler, &get);
  router.Handle(Method::kHead, "/x", &head);
  EXPECT_EQ(router.Find(Method::kHead, "/x").handler, &head);
}

TEST(RouterTest, ALaterRouteReplacesAnEarlierOne) {
  Named first, second;
  Router router;
  router.Handle(Method::kGet, "/x", &first);
  router.Handle(Method::kGet, "/x", &second);
  EXPECT_EQ(router.Find(Method::kGet, "/x").handler, &second);
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
  EXPECT_NE(dynamic_cast<const NotFoundHandler*>(router.Find(Method::kGet, "/").handler), nullptr);
}

TEST(RouterTest, PrefixesTakeEveryMethodBelowThemAfterExactRoutes) {
  NotFoundHandler exact, files, deep;
  Router router;
  router.Handle(Method::kGet, "/files/special", &exact);
  router.HandlePrefix("/files/", &files);
  router.HandlePrefix("/files/deep/", &deep);
  EXPECT_EQ(router.Find(Method::kPatch, "/files/0123").handler, &files);
  EXPECT_EQ(router.Find(Method::kPost, "/files/").handler, &files);
  EXPECT_EQ(router.Find(Method::kOptions, "/files/x?y=1").route, "/files/");
  EXPECT_EQ(router.Find(Method::kGet, "/files/special").handler, &exact);
  EXPECT_EQ(router.Find(Method::kHead, "/files/special").handler, &exact);
  EXPECT_EQ(router.Find(Method::kGet, "/files/deep/a").handler, &deep);  // Longest prefix.
  EXPECT_EQ(router.Find(Method::kGet, "/files").route, "other");
  EXPECT_EQ(router.Find(Method::kGet, "/file/s").route, "other");
}

}  // namespace
}  // namespace epollhttp::http
