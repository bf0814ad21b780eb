// CuratorDiscovery: service registration and discovery with curator-x-discovery, as a
// provider and a consumer with sessions of their own (two ZooKeeper connections):
// register, query names / instances / one instance, round-robin provider, ServiceCache
// listener, payload update, unregister, and the provider's session ending taking its
// (ephemeral) registrations with it.
//
//   java CuratorDiscovery <connect> <base>

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.x.discovery.ServiceCache;
import org.apache.curator.x.discovery.ServiceDiscovery;
import org.apache.curator.x.discovery.ServiceDiscoveryBuilder;
import org.apache.curator.x.discovery.ServiceInstance;
import org.apache.curator.x.discovery.ServiceProvider;
import org.apache.curator.x.discovery.details.JsonInstanceSerializer;
import org.apache.curator.x.discovery.details.ServiceCacheListener;
import org.apache.curator.x.discovery.strategies.RoundRobinStrategy;

public class CuratorDiscovery {
    static int failures = 0;

    static void check(boolean cond, String what, String why) {
        if (cond) {
            System.out.println("ok   " + what);
        } else {
            failures++;
            System.out.println("FAIL " + what + ": " + why);
        }
    }

    /** Instance payload, serialized as JSON by Curator. */
    public static class Details {
        public String zone;
        public int weight;
        public Details() {}
        public Details(String zone, int weight) { this.zone = zone; this.weight = weight; }
        public String toString() { return zone + "/" + weight; }
    }

    static CuratorFramework client(String connect) throws InterruptedException {
        CuratorFramework c = CuratorFrameworkFactory.newClient(connect, 15000, 15000,
            new ExponentialBackoffRetry(200, 10));
        c.start();
        if (!c.blockUntilConnected(30, TimeUnit.SECONDS)) throw new IllegalStateException("not connected");
        return c;
    }

    static ServiceDiscovery<Details> discovery(CuratorFramework c, String base) throws Exception {
        ServiceDiscovery<Details> sd = ServiceDiscoveryBuilder.builder(Details.class)
            .client(c).basePath(base)
            .serializer(new JsonInstanceSerializer<>(Details.class))
            .build();
        sd.start();
        return sd;
    }

    static ServiceInstance<Details> instance(String name, String id, int port, Details d) throws Exception {
        return ServiceInstance.<Details>builder().name(name).id(id).address("127.0.0.1").port(port).payload(d).build();
    }

    static boolean eventually(Callable<Boolean> cond, long ms) throws Exception {
        long deadline = System.currentTimeMillis() + ms;
        while (System.currentTimeMillis() < deadline) {
            if (cond.call()) return true;
            Thread.sleep(50);
        }
        return cond.call();
    }

    static Set<String> ids(Collection<ServiceInstance<Details>> is) {
        Set<String> s = new HashSet<>();
        for (ServiceInstance<Details> i : is) s.add(i.getId());
        return s;
    }

    public static void main(String[] args) throws Exception {
        String connect = args[0], base = args[1];
        CuratorFramework provider = client(connect);
        CuratorFramework consumer = client(connect);
        try {
            run(provider, consumer, base);
        } catch (Exception e) {
            failures++;
            System.out.println("FAIL unexpected exception: " + e);
            e.printStackTrace(System.out);
        } finally {
            try {
                if (consumer.checkExists().forPath(base) != null)
                    consumer.delete().deletingChildrenIfNeeded().forPath(base);
            } catch (Exception e) {
                System.out.println("cleanup: " + e);
            }
            if (provider.getState() == org.apache.curator.framework.imps.CuratorFrameworkState.STARTED) provider.close();
            consumer.close();
        }
        System.exit(failures == 0 ? 0 : 1);
    }

    static void run(CuratorFramework provider, CuratorFramework consumer, String base) throws Exception {
        ServiceDiscovery<Details> pd = discovery(provider, base);
        ServiceInstance<Details> a1 = instance("keel-api", "api-1", 9001, new Details("z1", 10));
        ServiceInstance<Details> a2 = instance("keel-api", "api-2", 9002, new Details("z2", 20));
        ServiceInstance<Details> ad = instance("keel-admin", "admin-1", 9100, new Details("z1", 1));
        pd.registerService(a1);
        pd.registerService(a2);
        pd.registerService(ad);

        // the znode layout Curator writes: <base>/<name>/<id>, ephemeral, JSON data
        byte[] raw = consumer.getData().forPath(base + "/keel-api/api-1");
        String json = new String(raw, StandardCharsets.UTF_8);
        check(json.contains("\"name\":\"keel-api\"") && json.contains("\"port\":9001"), "instance znode holds JSON", json);
        check(consumer.checkExists().forPath(base + "/keel-api/api-1").getEphemeralOwner()
              == provider.getZookeeperClient().getZooKeeper().getSessionId(),
              "instance znode is ephemeral, owned by the provider's session", "owner differs");

        final ServiceDiscovery<Details> cd = discovery(consumer, base);
        List<String> names = new ArrayList<>(cd.queryForNames());
        Collections.sort(names);
        check(names.equals(List.of("keel-admin", "keel-api")), "queryForNames", names.toString());
        Collection<ServiceInstance<Details>> apis = cd.queryForInstances("keel-api");
        check(ids(apis).equals(Set.of("api-1", "api-2")), "queryForInstances", ids(apis).toString());
        ServiceInstance<Details> got = cd.queryForInstance("keel-api", "api-2");
        check(got != null && "127.0.0.1".equals(got.getAddress()) && got.getPort() == 9002
              && got.getPayload() != null && "z2".equals(got.getPayload().zone) && got.getPayload().weight == 20,
              "queryForInstance: address, port, payload", String.valueOf(got));
        check(cd.queryForInstance("keel-api", "api-9") == null, "queryForInstance of an unknown id is null", "not null");

        ServiceProvider<Details> sp = cd.serviceProviderBuilder().serviceName("keel-api")
            .providerStrategy(new RoundRobinStrategy<>()).build();
        sp.start();
        Set<String> rr = new HashSet<>();
        for (int i = 0; i < 4; i++) {
            ServiceInstance<Details> pick = sp.getInstance();
            if (pick != null) rr.add(pick.getId());
        }
        check(rr.equals(Set.of("api-1", "api-2")), "round-robin provider visits both instances", rr.toString());

        final ServiceCache<Details> cache = cd.serviceCacheBuilder().name("keel-api").build();
        final AtomicInteger changes = new AtomicInteger();
        cache.addListener(new ServiceCacheListener() {
            public void cacheChanged() { changes.incrementAndGet(); }
            public void stateChanged(CuratorFramework client, ConnectionState newState) {}
        });
        cache.start();
        check(cache.getInstances().size() == 2, "ServiceCache starts with both instances",
              ids(cache.getInstances()).toString());

        // payload update
        ServiceInstance<Details> a1b = instance("keel-api", "api-1", 9001, new Details("z3", 30));
        pd.updateService(a1b);
        check(eventually(() -> {
            ServiceInstance<Details> i = cd.queryForInstance("keel-api", "api-1");
            return i != null && "z3".equals(i.getPayload().zone) && i.getPayload().weight == 30;
        }, 10000), "updateService: consumer sees the new payload", "old payload");
        check(eventually(() -> {
            for (ServiceInstance<Details> i : cache.getInstances())
                if (i.getId().equals("api-1") && "z3".equals(i.getPayload().zone)) return true;
            return false;
        }, 10000), "ServiceCache sees the update", ids(cache.getInstances()).toString());

        // unregister
        int before = changes.get();
        pd.unregisterService(a2);
        check(eventually(() -> ids(cd.queryForInstances("keel-api")).equals(Set.of("api-1")), 10000),
              "unregister: consumer no longer finds it", ids(cd.queryForInstances("keel-api")).toString());
        check(eventually(() -> cache.getInstances().size() == 1 && changes.get() > before, 10000),
              "ServiceCache listener fires and drops the instance", ids(cache.getInstances()).toString());

        // the provider's process goes away without unregistering (its client closes the
        // session; ServiceDiscovery.close() is not called): the ephemeral registrations vanish
        provider.close();
        check(eventually(() -> cd.queryForInstances("keel-api").isEmpty() && cd.queryForInstances("keel-admin").isEmpty(), 20000),
              "provider's session closed: its instances are gone", ids(cd.queryForInstances("keel-api")).toString());
        check(eventually(() -> cache.getInstances().isEmpty(), 10000), "ServiceCache empties", ids(cache.getInstances()).toString());

        cache.close();
        sp.close();
        cd.close();
    }
}
