package dev.serveml.registry;

import dev.serveml.runtime.LoadedModel;
import dev.serveml.tensor.Output;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

class VersionEventTest {
    private final AtomicInteger closed = new AtomicInteger();
    private final LoadedModel model = new LoadedModel() {
        @Override
        public Signature signature() {
            return new Signature(List.of(), List.of());
        }

        @Override
        public Map<String, Output> infer(List<Tensor> inputs, Set<String> outputs) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long memoryBytes() {
            return 0;
        }

        @Override
        public void close() {
            closed.incrementAndGet();
        }
    };

    @Test
    void theLoadedModelGoesToTheFirstListenerOnlyAndIsNotClosedOnceAdopted() {
        VersionEvent.Registered event = new VersionEvent.Registered(null, model);

        assertThat(event.adopt()).isSameAs(model);
        assertThat(event.adopt()).isNull();
        event.closeUnadopted();

        assertThat(closed).hasValue(0);
    }

    @Test
    void aModelNoListenerAdoptedIsClosedOnce() {
        VersionEvent.Registered event = new VersionEvent.Registered(null, model);

        event.closeUnadopted();
        event.closeUnadopted();

        assertThat(closed).hasValue(1);
    }
}
